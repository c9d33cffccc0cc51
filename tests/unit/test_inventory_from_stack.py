"""`roadie inventory from-stack`: stack outputs -> an Ansible inventory with the lab's groups,
checked by the same `check_inventory` that accepts the lab's own inventory."""

import copy
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from roadie.cli.inventory import app
from roadie.errors import RoadieError
from roadie.inventory import (
    Endpoints,
    InventoryError,
    build_inventory,
    check_inventory,
    load_stack_output,
    parse_stack_output,
)
from roadie.inventory.build import endpoint_vars, host_groups
from roadie.inventory.groups import AZ_GROUPS, OPTIONAL_SERVICE_GROUPS, REQUIRED_GROUPS, SERVICE_GROUPS, parse_az_group
from roadie.lab.inventory import inventory_for
from roadie.lab.plan import load_plan

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "infra" / "data"
PROD = DATA / "prod-stack-output.json"
DR = DATA / "dr-stack-output.json"


def generated():
    return build_inventory([load_stack_output(PROD), load_stack_output(DR)])


def groups_of(inventory):
    """name -> group mapping for every group under all (any depth)."""
    found = {}

    def walk(group):
        for name, child in (group.get("children") or {}).items():
            # A bare repeat (postgres under postgres_exporter) adds a parent, not a definition.
            if child or name not in found:
                found[name] = child or {}
            walk(child or {})

    walk(inventory["all"])
    return found


def test_generated_inventory_has_every_lab_group():
    groups = groups_of(generated())
    assert set(REQUIRED_GROUPS) <= set(groups)
    assert check_inventory(generated()) == []


def test_every_host_is_in_exactly_one_az_group_with_matching_vars():
    groups = groups_of(generated())
    hosts = {host for name in groups for host in (groups[name].get("hosts") or {})}
    for host in hosts:
        homes = [name for name in groups if parse_az_group(name) and host in (groups[name].get("hosts") or {})]
        assert len(homes) == 1, host
        variables = groups[homes[0]]["hosts"][host]
        assert (variables["roadie_region"], variables["roadie_az"]) == parse_az_group(homes[0])
    assert len(hosts) == 18  # 15 prod hosts (backup-1 among them) + db-dr, cache-dr, mq-dr


def test_addresses_are_unique_and_private():
    groups = groups_of(generated())
    addresses = [v["roadie_address"] for name in AZ_GROUPS for v in (groups[name].get("hosts") or {}).values()]
    assert len(addresses) == len(set(addresses)) == 18
    assert all(address.startswith(("10.10.", "10.11.")) for address in addresses)


def test_service_groups_follow_the_roles():
    groups = groups_of(generated())
    members = {name: sorted(groups[name].get("hosts") or {}) for name in SERVICE_GROUPS}
    assert members["etcd"] == members["postgres"] == ["db-1", "db-2", "db-3"]
    assert members["redis"] == members["sentinel"] == ["cache-1", "cache-2", "cache-3"]
    # The DR region's hosts are in its own clusters' groups, as in the lab.
    dr = {name: sorted(groups[name].get("hosts") or {}) for name in OPTIONAL_SERVICE_GROUPS}
    assert dr["etcd_dr"] == dr["postgres_dr"] == ["db-dr"]
    assert dr["redis_dr"] == dr["sentinel_dr"] == ["cache-dr"]
    assert dr["rabbitmq_dr"] == ["mq-dr"]
    assert members["aerospike"] == ["aero-1", "aero-2", "aero-3"]
    # Managed services in the cloud: present and empty.
    # pgBackRest's repository host is an EC2 host writing to S3, as the lab's backup host writes to its disk.
    assert members["backup_repo"] == ["backup-1"]
    assert members["app"] == members["lb"] == members["pg_lb"] == []


def test_all_vars():
    variables = generated()["all"]["vars"]
    assert variables == {
        "roadie_environment": "prod",
        "roadie_client_networks": ["10.10.0.0/16", "10.11.0.0/16"],
        "ansible_user": "admin",
        "ansible_become": True,
        # The stacks' endpoints: prod's are region 1's, dr's region 2's (the mocks name both alike).
        "roadie_pg_endpoint": "database-nlb.elb.amazonaws.com",
        "roadie_app_endpoint": "lb-alb.elb.amazonaws.com",
        "roadie_dr_pg_endpoint": "database-nlb.elb.amazonaws.com",
        "roadie_dr_app_endpoint": "lb-alb.elb.amazonaws.com",
        # prod's backup bucket; the prefixes its lifecycle rules are written for.
        "roadie_backup_repository": {
            "bucket": "backups-bucket",
            "region": "eu-west-1",
            "repo_path": "/repo",
            "archive_path": "/archive",
        },
    }


def test_endpoints_without_a_primary_region_or_given_twice_are_refused():
    prod, dr = load_stack_output(PROD), load_stack_output(DR)
    with pytest.raises(InventoryError, match="no stack gives the endpoints of region 1"):
        build_inventory([dr])
    with pytest.raises(InventoryError, match="region 1 has endpoints in two stacks"):
        endpoint_vars([*prod.endpoints, *prod.endpoints])
    with pytest.raises(InventoryError, match="only regions 1 and 2"):
        endpoint_vars([Endpoints(region=3, postgres="pg", app="app")])


@pytest.mark.parametrize(("profile", "regions"), [("core", [1]), ("full", [1, 2])])
def test_the_lab_gives_its_load_balancer_hosts_as_endpoints(profile, regions):
    plan = load_plan()
    endpoints = plan.endpoints(profile)
    assert [entry["region"] for entry in endpoints] == regions
    address = {h.name: h.address for h in plan.hosts}
    assert endpoints[0] == {"region": 1, "postgres": address["pg-lb"], "app": address["app-lb"]}
    if profile == "full":
        assert endpoints[1] == {"region": 2, "postgres": address["pg-lb-dr"], "app": address["lb-dr"]}


def test_hosts_are_reached_at_their_address_and_parent_groups_hold_both_regions():
    groups = groups_of(generated())
    assert groups["r1_az1"]["hosts"]["db-1"]["ansible_host"] == groups["r1_az1"]["hosts"]["db-1"]["roadie_address"]
    assert set(groups["redis_servers"]["children"]) == {"redis", "redis_dr"}
    assert set(groups["postgres_exporter"]["children"]) == {"postgres"}


def test_the_pgbackrest_group_holds_both_regions_members_and_the_repository_host():
    members = {host for host, names in host_groups(generated()).items() if "pgbackrest" in names}
    holders = {host for host, names in host_groups(generated()).items() if {"postgres_servers", "backup_repo"} & names}
    assert members == holders
    assert {"db-1", "db-dr", "backup-1"} <= members


@pytest.mark.parametrize("profile", ["core", "full"])
def test_checker_accepts_the_lab_inventory(profile, tmp_path):
    """The lab's inventory comes from the lab's stack output through the same builder."""
    lab = inventory_for(load_plan(), profile, tmp_path)
    assert check_inventory(lab) == []
    assert lab["all"]["vars"]["roadie_environment"] == "lab"


@pytest.mark.parametrize(
    ("break_it", "problem"),
    [
        (lambda inv: inv["all"]["children"].pop("aerospike"), "group aerospike is missing"),
        (
            lambda inv: inv["all"]["children"]["region1"]["children"]["r1_az2"]["hosts"].update(
                {"db-1": {"roadie_address": "10.10.21.11", "roadie_region": 1, "roadie_az": 1}}
            ),
            "host db-1 is in 2 AZ groups",
        ),
        (
            lambda inv: inv["all"]["children"]["region1"]["children"]["r1_az2"]["hosts"]["db-2"].update(
                {"roadie_address": "10.10.21.11"}
            ),
            "address 10.10.21.11 is used by db-1, db-2",
        ),
        (
            lambda inv: inv["all"]["children"]["region1"]["children"]["r1_az1"]["hosts"]["db-1"].update(
                {"roadie_az": 2}
            ),
            "host db-1 is in r1_az1 but has roadie_region=1 roadie_az=2",
        ),
        (
            lambda inv: inv["all"]["children"]["region1"]["children"]["r1_az1"]["hosts"]["db-1"].pop("roadie_address"),
            "host db-1 lacks roadie_address",
        ),
        (
            lambda inv: inv["all"]["children"]["sentinel"]["hosts"].pop("cache-1"),
            "groups redis and sentinel must hold the same hosts",
        ),
        (
            lambda inv: inv["all"]["children"]["region2"]["children"].update(
                {"r1_az3": inv["all"]["children"]["region1"]["children"].pop("r1_az3")}
            ),
            "AZ group r1_az3 is not under region1",
        ),
    ],
)
def test_checker_finds_problems(break_it, problem):
    inventory = copy.deepcopy(generated())
    break_it(inventory)
    assert any(found.startswith(problem) for found in check_inventory(inventory)), check_inventory(inventory)


def test_bad_stack_outputs_are_refused_with_the_field():
    outputs = json.loads(PROD.read_text())
    with pytest.raises(InventoryError, match="'hosts'"):
        parse_stack_output({**outputs, "hosts": None})
    broken = copy.deepcopy(outputs)
    broken["hosts"][0]["address"] = "not-an-ip"
    with pytest.raises(InventoryError, match=r"hosts\[0\] \(db-1\) 'address'"):
        parse_stack_output(broken)
    broken["hosts"][0] = {**outputs["hosts"][0], "roles": ["webserver"]}
    with pytest.raises(InventoryError, match="unknown roles"):
        parse_stack_output(broken)
    with pytest.raises(InventoryError, match="two stacks"):
        build_inventory([load_stack_output(PROD), load_stack_output(PROD)])


def test_cli_writes_the_inventory(tmp_path):
    target = tmp_path / "aws"
    result = CliRunner().invoke(app, ["from-stack", str(PROD), str(DR), "--output", str(target)])
    assert result.exit_code == 0, result.output
    written = target / "hosts.yml"
    assert str(written) in result.output
    assert written.read_text().startswith("# Generated by `roadie inventory from-stack`")
    assert yaml.safe_load(written.read_text()) == generated()


def test_cli_reports_a_bad_file_as_a_roadie_error(tmp_path):
    bad = tmp_path / "out.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(app, ["from-stack", str(bad), "--output", str(tmp_path / "inv.yml")])
    assert isinstance(result.exception, RoadieError)
    assert str(bad) in str(result.exception)
    assert not (tmp_path / "inv.yml").exists()
