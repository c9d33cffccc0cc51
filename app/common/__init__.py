"""Infrastructure shared by the app's parts: settings, database pools, Redis, RabbitMQ, telemetry."""
