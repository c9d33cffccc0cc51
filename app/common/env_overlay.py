"""Settings from environment variables, over a settings file: `PREFIX` + path in capitals.

`ROADIE_APP__POSTGRES__PASSWORD` sets `postgres.password`, `ROADIE_APP__POSTGRES__PRIMARY__PORT`
sets `postgres.primary.port`: the parts after the prefix are the setting's path, joined by `__`.
This is how Kubernetes hands the app its Secret (`envFrom`) and the pod's name (downward API),
while everything else comes from the mounted YAML file.

- A variable wins over the file; a more specific variable wins over a less specific one
  (`..._PRIMARY__PORT` over `..._PRIMARY`).
- The value's type follows the setting's: a string setting takes the value verbatim (a password
  `yes`, `null` or `0123` stays that string); any other setting's value is read as YAML, so
  `5000` is a port (int), `[a, b]` a list and `{host: h, port: 1}` an object.
- A variable whose path is not a setting is refused, naming the variable and what exists there:
  a typo in a Secret's key must not leave a setting silently unset.
- Lists are set whole (`ROADIE_APP__CITIES='[{id: 1, ...}]'`); their items have no path.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import yaml
from pydantic import BaseModel

SEPARATOR = "__"

Path = tuple[str, ...]


class EnvOverlayError(ValueError):
    """A variable names no setting, or its value cannot be read; the message names it."""


@dataclass(frozen=True)
class EnvSetting:
    """One setting given by the environment."""

    variable: str
    path: Path
    value: Any


def env_name(prefix: str, path: Sequence[str | int]) -> str:
    """The variable that sets `path`: ("postgres", "password") -> ROADIE_APP__POSTGRES__PASSWORD.

    A path into a list item (pydantic's error locations) names the variable of the whole list."""
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            break
        parts.append(part.upper())
    return prefix + SEPARATOR.join(parts)


def settings_from_env(
    model: type[BaseModel],
    prefix: str,
    environ: Mapping[str, str],
    schemas: Mapping[Path, Any] | None = None,
) -> list[EnvSetting]:
    """Every `prefix`-variable of `environ` as a setting of `model`, least specific first.

    `schemas` gives the type of a path whose annotation is too loose to walk (a `dict[str, Any]`
    that another class validates), so that its sub-settings are checked and typed too."""
    found = []
    for variable in sorted(name for name in environ if name.startswith(prefix)):
        path = _path_of(variable, prefix)
        leaf = _resolve(model, path, (), variable, schemas or {})
        found.append(EnvSetting(variable, path, _value(leaf, environ[variable], variable)))
    return sorted(found, key=lambda setting: (len(setting.path), setting.path))


def apply(data: Mapping[str, Any], settings: Sequence[EnvSetting]) -> dict[str, Any]:
    """A copy of `data` with `settings` set over it (in order: the more specific last)."""
    merged: dict[str, Any] = copy.deepcopy(dict(data))
    for setting in settings:
        node = merged
        for part in setting.path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[setting.path[-1]] = setting.value
    return merged


def _path_of(variable: str, prefix: str) -> Path:
    parts = tuple(part.lower() for part in variable[len(prefix) :].split(SEPARATOR))
    if not all(parts):
        raise EnvOverlayError(
            f"${variable}: empty part in the name: a setting's path is its parts in capitals joined "
            f"by '{SEPARATOR}', e.g. {prefix}POSTGRES{SEPARATOR}PASSWORD"
        )
    return parts


def _resolve(annotation: Any, path: Path, seen: Path, variable: str, schemas: Mapping[Path, Any]) -> Any:
    """The type of the setting at `path` under `annotation` (`seen` is the path walked so far)."""
    annotation = schemas.get(seen, _without_none(annotation))
    if not path:
        return annotation
    head, rest = path[0], path[1:]
    fields = _fields(annotation)
    if fields is not None:
        if head not in fields:
            where = ".".join(seen) or "the top level"
            raise EnvOverlayError(
                f"${variable}: unknown setting {'.'.join((*seen, head))} ({where} has: {', '.join(sorted(fields))})"
            )
        return _resolve(fields[head], rest, (*seen, head), variable, schemas)
    if typing.get_origin(annotation) in (dict, Mapping):
        # A mapping of named entries (shards.<name>): any key, then the entry's own settings.
        value_type = typing.get_args(annotation)[1] if typing.get_args(annotation) else Any
        return _resolve(value_type, rest, (*seen, head), variable, schemas)
    if annotation is Any:
        return Any
    raise EnvOverlayError(
        f"${variable}: {'.'.join(seen)} ({_type_name(annotation)}) has no setting {head}: it is set whole, "
        f"as ${variable.rsplit(SEPARATOR, len(rest) + 1)[0]}"
    )


def _fields(annotation: Any) -> dict[str, Any] | None:
    """Field name -> type of a settings class (pydantic model or dataclass), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: info.annotation for name, info in annotation.model_fields.items()}
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return dict(typing.get_type_hints(annotation))
    return None


def _without_none(annotation: Any) -> Any:
    """`X | None` -> X (an optional setting is set like a required one)."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(options) == 1:
            return options[0]
    return annotation


def _value(leaf: Any, raw: str, variable: str) -> Any:
    if leaf is str:
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = str(exc).replace("\n", " ")
        raise EnvOverlayError(f"${variable}: not a YAML value for a {_type_name(leaf)} setting: {problem}") from None


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return re.sub(r"\b(?:\w+\.)+(\w+)", r"\1", str(annotation))  # list[app.x.City] -> list[City]
