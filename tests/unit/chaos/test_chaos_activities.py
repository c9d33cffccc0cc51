"""Every exported chaos function is discoverable, with the right type, and documented and
typed the way Chaos Toolkit users read it (`chaos discover roadie.chaos`)."""

import importlib
import inspect

import pytest

import roadie.chaos
from roadie.chaos import KINDS, activities, discover, subsystems

MODULES = [f"roadie.chaos.{s}.{m}" for s in subsystems() for m in KINDS]


def test_every_subsystem_the_experiments_need_is_a_package():
    assert {"lab", "patroni", "redis", "workload", "invariants"} <= set(subsystems())


@pytest.mark.parametrize("module_name", MODULES)
def test_every_exported_name_is_discovered_with_its_modules_type(module_name):
    module = importlib.import_module(module_name)
    discovered = {a["name"]: a["type"] for a in activities() if a["mod"] == module_name}
    # A name in __all__ that is not a function (or a typo) would silently not be discovered.
    assert set(discovered) == set(module.__all__), module_name
    expected = KINDS[module_name.rsplit(".", 1)[1]]
    assert set(discovered.values()) <= {expected}


@pytest.mark.parametrize("module_name", MODULES)
def test_exported_functions_are_typed_documented_and_end_with_configuration_and_secrets(module_name):
    module = importlib.import_module(module_name)
    for name in module.__all__:
        func = getattr(module, name)
        signature = inspect.signature(func)
        params = list(signature.parameters.values())
        assert inspect.getdoc(func), f"{module_name}.{name} has no docstring (the user docs)"
        assert signature.return_annotation is not inspect.Signature.empty, f"{module_name}.{name} return type"
        assert all(p.annotation is not inspect.Parameter.empty for p in params), f"{module_name}.{name} argument types"
        assert [p.name for p in params[-2:]] == ["configuration", "secrets"], f"{module_name}.{name}"
        assert all(p.default is None for p in params[-2:]), f"{module_name}.{name}"


def test_discovery_entry_point_lists_the_same_activities():
    result = discover()
    assert result["extension"]["name"] == "roadie"
    assert sorted((a["mod"], a["name"]) for a in result["activities"]) == sorted(
        (a["mod"], a["name"]) for a in activities()
    )
    assert len(result["activities"]) >= 25


def test_a_subpackage_without_actions_or_probes_fails_discovery(tmp_path, monkeypatch):
    """Discovery is built from the package: a new subsystem must bring both modules."""
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "__init__.py").write_text("")
    monkeypatch.setattr(roadie.chaos, "__path__", [*roadie.chaos.__path__, str(tmp_path)])
    assert "broken" in subsystems()
    with pytest.raises(ModuleNotFoundError):
        activities()
