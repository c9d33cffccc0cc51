"""Concert ticketing: catalogue reads (eventually consistent) and bookings (strongly consistent)."""
