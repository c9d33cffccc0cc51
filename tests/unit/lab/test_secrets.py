"""Lab secrets: generated once, never replaced, never readable by others."""

import pytest
import yaml

from roadie.errors import RoadieError
from roadie.lab.secrets import SECRET_NAMES, ensure_secrets, load_secrets


def test_generated_file_is_private_and_complete(tmp_path):
    path = tmp_path / "lab" / "secrets.yml"
    generated = ensure_secrets(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert set(generated) == set(SECRET_NAMES)
    assert all(len(value) >= 24 for value in generated.values())
    assert len(set(generated.values())) == len(SECRET_NAMES)


def test_existing_secrets_are_kept_and_missing_ones_added(tmp_path):
    path = tmp_path / "secrets.yml"
    first = ensure_secrets(path)
    trimmed = {k: v for k, v in first.items() if k != "redis_app"}
    path.write_text(yaml.safe_dump(trimmed))
    second = ensure_secrets(path)
    assert {k: second[k] for k in trimmed} == trimmed
    assert second["redis_app"] != first["redis_app"]


def test_world_readable_secrets_are_refused(tmp_path):
    path = tmp_path / "secrets.yml"
    ensure_secrets(path)
    path.chmod(0o644)
    with pytest.raises(RoadieError, match="readable by others"):
        load_secrets(path)


def test_missing_secrets_name_the_fix(tmp_path):
    with pytest.raises(RoadieError, match="roadie lab up"):
        load_secrets(tmp_path / "absent.yml")
