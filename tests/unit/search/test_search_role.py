"""What role app_search renders for the lab: its simulated suppliers with their per-supplier
settings (ansible/inventories/lab/group_vars/app_servers.yml) and the Redis fallback, as search
settings the app accepts."""

import pytest
import yaml

from app.search import wiring
from roadie.paths import ansible_dir
from tests.unit.observability.role_render import HOSTVARS, render_template, role_variables

LAB = ansible_dir() / "inventories" / "lab" / "group_vars"


def rendered_settings(**overrides) -> wiring.SearchSettings:
    lab_suppliers = yaml.safe_load((LAB / "suppliers.yml").read_text())["supplier_sim_suppliers"]
    hostvars = {**HOSTVARS, "suppliers": {**HOSTVARS["suppliers"], "supplier_sim_suppliers": lab_suppliers}}
    lab_app = yaml.safe_load((LAB / "app_servers.yml").read_text())
    # The node token is a lab secret (roadie_secrets.search_node); any valid one renders the same.
    secret = {"app_search_node_token": "unit-test-node-token-0123456789"}
    variables = role_variables("app_search", {"app_search_node_name": "app-1", "hostvars": hostvars,
                                              **secret, **lab_app, **overrides})  # fmt: skip
    variables["_app_search_suppliers"] = yaml.safe_load(
        render_template("app_search", "simulated-suppliers.j2", variables)
    )
    return wiring.SearchSettings.model_validate(
        yaml.safe_load(render_template("app_search", "search.yml.j2", variables))
    )


def test_the_lab_calls_each_supplier_with_its_own_settings():
    contracts = rendered_settings().contracts()
    assert {name: c.max_wait for name, c in contracts.items()} == {
        "fast": 0.2,
        "slow": 1.0,
        "limited": 1.0,
        "flaky": 0.2,
    }
    assert contracts["limited"].look_to_book is not None and contracts["limited"].look_to_book.max_ratio == 3000
    assert contracts["slow"].timeout == 1.0 and contracts["fast"].timeout == 2.0, "omitted: app_search_supplier_timeout"
    assert all(c.max_batch == 50 for c in contracts.values()), "at most the global batch and the simulator's cap"


def test_the_lab_renders_the_redis_fallback():
    settings = rendered_settings()
    assert settings.redis_fallback.enabled and settings.redis_fallback.probe_interval == 1.0
    assert not rendered_settings(app_search_redis_fallback=False).redis_fallback.enabled


def test_a_merge_window_the_forward_timeout_cannot_wait_for_is_refused_by_the_check():
    with pytest.raises(ValueError, match="supplier slow: merge window 2s"):
        rendered_settings(app_search_supplier_settings={"slow": {"max_wait": "2s", "timeout": "1s"}})
