"""Geographic shards: each city's events live in its own database, ids route back to it."""

from app.tickets.shards import shard_number_of
from tests.lab.tickets.conftest import MOSCOW, SAINT_PETERSBURG, book


def test_events_live_in_their_citys_database(client, new_event, shard_db, app_settings, session):
    moscow, _ = new_event(city_id=MOSCOW)
    spb, spb_seats = new_event(city_id=SAINT_PETERSBURG)
    assert shard_number_of(moscow["id"]) == app_settings.shards["msk"].number
    assert shard_number_of(spb["id"]) == app_settings.shards["spb"].number

    def count(shard, event_id):
        return shard_db(shard).execute("SELECT count(*) AS n FROM events WHERE id = %s", (event_id,)).fetchone()["n"]

    assert (count("msk", moscow["id"]), count("spb", moscow["id"])) == (1, 0)
    assert (count("msk", spb["id"]), count("spb", spb["id"])) == (0, 1)
    booking = book(client, session, spb["id"], spb_seats[:1]).json()
    assert client.get(f"/v1/bookings/{booking['id']}", headers=session).json()["event_id"] == spb["id"]


def test_a_city_lists_only_its_own_events(client, new_event):
    spb, _ = new_event(city_id=SAINT_PETERSBURG)
    day = spb["starts_at"][:10]
    moscow_list = client.get("/v1/events", params={"city_id": MOSCOW, "from": day, "to": day, "limit": 200}).json()
    assert spb["id"] not in {e["id"] for e in moscow_list}


def test_unknown_ids_and_cities_are_404(client, session):
    assert client.get("/v1/events/999").status_code == 404
    assert client.get("/v1/events", params={"city_id": 4242}).status_code == 404
    assert client.get(f"/v1/bookings/{(1 << 48) + 10**12}", headers=session).status_code == 404
