"""Search settings take ROADIE_SEARCH__* variables over their file, as the app's take ROADIE_APP__*:
the Redis passwords from a Secret, typed by the Redis settings' own fields."""

import pytest
import yaml

from app.search import wiring
from tests.unit.search.test_search_wiring import BASE


def write(tmp_path, data):
    path = tmp_path / "search.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_redis_passwords_and_the_node_come_from_the_environment(tmp_path):
    data = {**BASE, "redis": {k: v for k, v in BASE["redis"].items() if k != "password"}}
    env = {
        "ROADIE_SEARCH__REDIS__PASSWORD": "0123",  # a string setting: kept verbatim, not the number 83
        "ROADIE_SEARCH__REDIS__SENTINEL_PASSWORD": "yes",
        "ROADIE_SEARCH__NODE": "app-2",
        "ROADIE_SEARCH__BATCHING__MAX_BATCH": "20",
    }
    settings = wiring.load_settings(write(tmp_path, data), environ=env)
    redis = settings.redis_settings()
    assert (redis.password, redis.sentinel_password, redis.username) == ("0123", "yes", "app")
    assert settings.node == "app-2"
    assert settings.batching.max_batch == 20


def test_without_variables_the_file_is_read_as_before(tmp_path):
    settings = wiring.load_settings(write(tmp_path, BASE), environ={})
    assert settings.redis_settings().password == "x" * 16


def test_an_unknown_redis_setting_is_refused_naming_the_variable(tmp_path):
    with pytest.raises(wiring.SearchConfigError, match=r"ROADIE_SEARCH__REDIS__PASWORD: unknown setting redis.pasword"):
        wiring.load_settings(write(tmp_path, BASE), environ={"ROADIE_SEARCH__REDIS__PASWORD": "x"})
