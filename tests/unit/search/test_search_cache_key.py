"""Cache keys: canonical occupancy, and a 7-night stay is not seven 1-night stays."""

from datetime import date

from app.search.cache_key import OfferKey, canonical_occupancy, offer_key, routing_key
from app.search.models import Occupancy


def occ(*rooms):
    return Occupancy.model_validate({"rooms": [{"adults": a, "children_ages": list(c)} for a, c in rooms]})


CHECKIN = date(2030, 5, 1)


def test_room_order_and_listing_order_of_children_do_not_matter():
    a = occ((2, (9, 4)), (1, ()))
    b = occ((1, ()), (2, (4, 9)))
    assert canonical_occupancy(a) == canonical_occupancy(b) == "1a+2a-4-9"
    assert offer_key("s", "h", CHECKIN, 7, a) == offer_key("s", "h", CHECKIN, 7, b)


def test_children_ages_matter():
    assert canonical_occupancy(occ((2, (3,)))) != canonical_occupancy(occ((2, (15,))))


def test_the_split_into_rooms_matters():
    # Two guests in one room are not two guests in two rooms.
    assert canonical_occupancy(occ((2, ()))) != canonical_occupancy(occ((1, ()), (1, ())))
    # Which room a child sleeps in matters too.
    assert canonical_occupancy(occ((2, (5,)), (2, ()))) != canonical_occupancy(occ((1, (5,)), (3, ())))


def test_a_seven_night_stay_is_not_seven_one_night_stays():
    o = occ((2, ()))
    week = offer_key("s", "h", CHECKIN, 7, o)
    nights = {offer_key("s", "h", date(2030, 5, 1 + i), 1, o) for i in range(7)}
    assert week not in nights
    assert len(nights) == 7


def test_every_part_of_the_key_matters():
    o = occ((2, ()))
    base = OfferKey.of("s", "h", CHECKIN, 7, o)
    variants = [
        OfferKey.of("t", "h", CHECKIN, 7, o),
        OfferKey.of("s", "g", CHECKIN, 7, o),
        OfferKey.of("s", "h", date(2030, 5, 2), 7, o),
        OfferKey.of("s", "h", CHECKIN, 6, o),
        OfferKey.of("s", "h", CHECKIN, 7, occ((3, ()))),
    ]
    assert len({base.render(), *(v.render() for v in variants)}) == 6


def test_key_shape_and_routing_key_leave_out_the_hotel():
    key = OfferKey.of("turkey-direct", "h42", CHECKIN, 7, occ((2, (5,))))
    assert key.render() == "offer:v1:turkey-direct:h42:2030-05-01:7n:2a-5"
    assert routing_key("turkey-direct", CHECKIN, 7) == "turkey-direct:2030-05-01:7n"
    assert key.batch.render() == "turkey-direct:2030-05-01:7n:2a-5"
    assert OfferKey.of("turkey-direct", "h43", CHECKIN, 7, occ((2, (5,)))).batch == key.batch
