"""Search request validation: every rule answers with a message a user can act on."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from app.search.models import MAX_GUESTS, MAX_ROOMS, Occupancy, SearchRequest, earliest_checkin

TODAY = date(2030, 3, 10)


def request(**overrides):
    data = {
        "hotel_ids": ["h1", "h2"],
        "checkin": "2030-04-01",
        "nights": 7,
        "occupancy": {"rooms": [{"adults": 2, "children_ages": [4, 9]}]},
    }
    data.update(overrides)
    return SearchRequest.model_validate(data, context={"today": TODAY})


def messages(exc_info) -> str:
    return " | ".join(error["msg"] for error in exc_info.value.errors())


def test_a_valid_request_is_accepted_and_repeated_hotels_dropped():
    parsed = request(hotel_ids=["h1", "h2", "h1"])
    assert parsed.hotel_ids == ("h1", "h2")
    assert parsed.stay.checkout == date(2030, 4, 8)
    assert parsed.stay.depth_days(TODAY) == 22


@pytest.mark.parametrize(("nights", "accepted"), [(0, False), (1, True), (30, True), (31, False)])
def test_nights_are_one_to_thirty(nights, accepted):
    if accepted:
        assert request(nights=nights).nights == nights
    else:
        with pytest.raises(ValidationError) as exc_info:
            request(nights=nights)
        assert f"nights must be 1 to 30 (got {nights})" in messages(exc_info)


def test_checkin_in_the_past_is_refused_and_today_is_fine():
    assert request(checkin=TODAY.isoformat()).checkin == TODAY
    with pytest.raises(ValidationError) as exc_info:
        request(checkin="2030-03-09")
    assert "check-in 2030-03-09 is in the past (today is 2030-03-10)" in messages(exc_info)


def test_today_is_the_earliest_date_anywhere_on_earth():
    # 05:00 UTC on the 10th is still the 9th at UTC-12: a check-in on the 9th is not in the past.
    assert earliest_checkin(datetime(2030, 3, 10, 5, tzinfo=UTC)) == date(2030, 3, 9)
    assert earliest_checkin(datetime(2030, 3, 10, 13, tzinfo=UTC)) == date(2030, 3, 10)


def test_children_ages_are_zero_to_seventeen():
    assert request(occupancy={"rooms": [{"adults": 1, "children_ages": [0, 17]}]}).occupancy.guests == 3
    with pytest.raises(ValidationError) as exc_info:
        request(occupancy={"rooms": [{"adults": 1, "children_ages": [18, -1]}]})
    assert "children's ages must be 0 to 17 (got [18, -1])" in messages(exc_info)


def test_room_and_guest_limits():
    with pytest.raises(ValidationError) as exc_info:
        request(occupancy={"rooms": [{"adults": 1}] * (MAX_ROOMS + 1)})
    assert f"a search needs 1 to {MAX_ROOMS} rooms" in messages(exc_info)
    with pytest.raises(ValidationError) as exc_info:
        request(occupancy={"rooms": [{"adults": 6, "children_ages": [5, 5]}] * 3})
    assert f"at most {MAX_GUESTS} guests per search (got 24)" in messages(exc_info)
    with pytest.raises(ValidationError) as exc_info:
        request(occupancy={"rooms": [{"adults": 0}]})
    assert "a room needs 1 to 8 adults (got 0)" in messages(exc_info)


def test_hotels_or_city_but_not_both():
    assert request(hotel_ids=[], city="antalya").city == "antalya"
    for overrides in ({"hotel_ids": [], "city": None}, {"city": "antalya"}):
        with pytest.raises(ValidationError) as exc_info:
            request(**overrides)
        assert "give either hotel_ids or city" in messages(exc_info)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValidationError) as exc_info:
        request(checkin="2020-01-01", nights=45, occupancy={"rooms": [{"adults": 2, "children_ages": [30]}]})
    fields = {error["loc"][0] for error in exc_info.value.errors()}
    assert fields == {"checkin", "nights", "occupancy"}


def test_models_are_immutable_and_hashable():
    occupancy = Occupancy.model_validate({"rooms": [{"adults": 2}]})
    with pytest.raises(ValidationError):
        occupancy.rooms = ()
    assert hash(request()) == hash(request())
