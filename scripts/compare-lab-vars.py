#!/usr/bin/env python3
"""Show that an inventory refactoring changes nothing a lab host's roles see.

    compare-lab-vars.py capture OUT [--hosts HOSTS_YML]   # resolve every lab host into OUT
    compare-lab-vars.py compare BEFORE AFTER [--renamed OLD=NEW] [--added NAME]
                                                          # name every difference

`capture` resolves, for every host of a lab inventory, the raw inventory variables and, for
every role in ansible/roles, each role variable (defaults, inventory, role vars) and each
inventory variable rendered as that role would see it, with the playbook-adjacent group_vars
in effect. The inventory is HOSTS_YML (e.g. a running lab's hosts.yml) or, by default, the one
`roadie lab up` would write now (roadie.lab.lifecycle.write_inventory_files) with the running
lab's paths, next to this tree's lab group_vars and host_vars. OUT holds secrets: it is 0600.

`compare` counts as expected (and lists apart) a variable renamed with the same values
(--renamed) and one added or given a new value on purpose (--added, left out of both sides);
every other difference is one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from roadie.inventory.resolve import RenderError, open_inventory, render_each, role_layers
from roadie.lab.inventory import Lab
from roadie.lab.lifecycle import write_inventory_files
from roadie.paths import ansible_dir

LIVE_HOSTS = Path("/var/lib/roadie/lab/inventory/hosts.yml")
# What `roadie lab up` sets from where the lab lives (write_inventory_files): taken from the
# running lab so that both inventories point at the same files.
LAB_PATH_VARS = ("roadie_lab_root", "roadie_wheel", "ansible_ssh_private_key_file", "ansible_ssh_common_args")


def lab_inventory_dir(hosts: Path | None, work: Path) -> Path:
    """An inventory dir: HOSTS (or the one lab up writes now) + this tree's lab variables."""
    target = work / "inventory"
    if hosts is None:
        live = yaml.safe_load(LIVE_HOSTS.read_text())["all"]["vars"]
        lab = Lab(root=work, profile=_profile(live), hosts=())
        write_inventory_files(lab, Path(live["roadie_wheel"]))
        generated = yaml.safe_load((target / "hosts.yml").read_text())
        generated["all"]["vars"].update({name: live[name] for name in LAB_PATH_VARS})
        (target / "hosts.yml").write_text(yaml.safe_dump(generated, sort_keys=False))
        return target
    target.mkdir()
    (target / "hosts.yml").write_text(hosts.read_text())
    for variables in ("group_vars", "host_vars"):
        (target / variables).symlink_to(ansible_dir() / "inventories" / "lab" / variables)
    return target


def _profile(live_vars: Mapping[str, Any]) -> str:
    marker = Path(live_vars["roadie_lab_root"]) / "profile"
    return marker.read_text().strip() if marker.exists() else "core"


def capture(inventory_dir: Path) -> dict[str, Any]:
    resolver = open_inventory([inventory_dir], ansible_dir() / "playbooks")
    roles = sorted(path.name for path in (ansible_dir() / "roles").iterdir() if path.is_dir())
    result: dict[str, Any] = {}
    for host in resolver.hosts():
        raw = resolver.inventory_vars(host)
        rendered = {}
        for role in roles:
            defaults, role_vars = role_layers(resolver, role)
            context = {**defaults, **resolver.host_vars(host), **role_vars}
            names = sorted({*defaults, *role_vars, *raw})
            rendered[role] = {name: _plain(value) for name, value in render_each(resolver, names, context).items()}
        result[host] = {"raw": _plain(raw), "rendered": rendered}
    return result


def _plain(value: Any) -> Any:
    """JSON-ready: Ansible's tagged strings and containers as plain ones, errors as text."""
    if isinstance(value, RenderError):
        return {"render error": value.message}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def rename(resolved: Mapping[str, Any], renamed: Mapping[str, str]) -> dict[str, Any]:
    """`resolved` with each OLD variable under its NEW name, wherever it appears."""

    def layer(variables: Mapping[str, Any]) -> dict[str, Any]:
        return {renamed.get(name, name): value for name, value in variables.items()}

    return {
        host: {
            "raw": layer(found["raw"]),
            "rendered": {role: layer(values) for role, values in found["rendered"].items()},
        }
        for host, found in resolved.items()
    }


def drop(resolved: Mapping[str, Any], names: set[str]) -> tuple[dict[str, Any], int]:
    """`resolved` without `names`, and how many values were left out."""
    left_out = 0

    def layer(variables: Mapping[str, Any]) -> dict[str, Any]:
        nonlocal left_out
        kept = {name: value for name, value in variables.items() if name not in names}
        left_out += len(variables) - len(kept)
        return kept

    kept = {
        host: {
            "raw": layer(found["raw"]),
            "rendered": {role: layer(values) for role, values in found["rendered"].items()},
        }
        for host, found in resolved.items()
    }
    return kept, left_out


def compare(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(raw, rendered) differences, one line each naming host, role and variable (never a value).

    Raw differences are template text (`{{ roadie_secrets.x }}` for `{{ roadie_lab_secrets.x }}`);
    the rendered ones are what the roles would see: the verdict.
    """
    raw = [f"host {h} only before" for h in sorted(set(before) - set(after))]
    raw += [f"host {h} only after" for h in sorted(set(after) - set(before))]
    rendered = []
    for host in sorted(set(before) & set(after)):
        raw += _differences(f"{host} raw", before[host]["raw"], after[host]["raw"])
        for role in sorted(set(before[host]["rendered"]) | set(after[host]["rendered"])):
            old = before[host]["rendered"].get(role, {})
            new = after[host]["rendered"].get(role, {})
            rendered += _differences(f"{host} {role}", old, new)
    return raw, rendered


def _differences(where: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines = [f"{where}: {name} removed" for name in sorted(set(old) - set(new))]
    lines += [f"{where}: {name} added" for name in sorted(set(new) - set(old))]
    lines += [f"{where}: {name} changed" for name in sorted(set(old) & set(new)) if old[name] != new[name]]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    grab = commands.add_parser("capture")
    grab.add_argument("out", type=Path)
    grab.add_argument("--hosts", type=Path)
    diff = commands.add_parser("compare")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)
    diff.add_argument("--renamed", action="append", default=[], metavar="OLD=NEW")
    diff.add_argument("--added", action="append", default=[], metavar="NAME")
    args = parser.parse_args()
    if args.command == "capture":
        with tempfile.TemporaryDirectory() as work:
            resolved = capture(lab_inventory_dir(args.hosts, Path(work)))
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(resolved, handle, indent=1, sort_keys=True)
        counts = [len(r) for h in resolved.values() for r in h["rendered"].values()]
        print(f"{len(resolved)} hosts, {sum(counts)} rendered role variables -> {args.out}")
        return 0
    before, after = (json.loads(path.read_text()) for path in (args.before, args.after))
    before = rename(before, dict(pair.split("=", 1) for pair in args.renamed))
    before, _ = drop(before, set(args.added))
    after, added = drop(after, set(args.added))
    raw_lines, rendered_lines = compare(before, after)
    print("\n".join([*raw_lines, *rendered_lines]))
    raw = sum(len(h["raw"]) for h in before.values())
    rendered = sum(len(r) for h in before.values() for r in h["rendered"].values())
    print(
        f"{len(before)} hosts; {added} intentionally added values left out ({', '.join(args.added) or 'none'}); "
        f"raw inventory values: {raw} compared, {len(raw_lines)} with other template text; "
        f"rendered role values: {rendered} compared, {len(rendered_lines)} differences"
    )
    return 1 if rendered_lines else 0


if __name__ == "__main__":
    sys.exit(main())
