"""The lab's plan (infra/lab/hosts.yml) follows the address plan 127.R.Z.H of DESIGN.md, and
the lab's inventory is what the plan's stack output gives through `roadie inventory from-stack`'s
builder; bad plans are refused with the host named."""

import ipaddress

import pytest
import yaml

from roadie.errors import RoadieError
from roadie.inventory import parse_stack_output
from roadie.lab.inventory import load_lab
from roadie.lab.plan import load_plan, plan_file

PLAN = load_plan()
FULL = load_lab("full")
ROLE_OCTET = {"etcd": 11, "postgres": 11, "redis": 21, "sentinel": 21, "rabbitmq": 41, "pg_lb": 52}


def test_every_address_is_loopback_and_unique():
    addresses = [h.address for h in PLAN.hosts]
    assert len(addresses) == len(set(addresses))
    for address in addresses:
        assert ipaddress.ip_address(address) in ipaddress.ip_network("127.0.0.0/8")


@pytest.mark.parametrize("host", PLAN.hosts, ids=lambda h: h.name)
def test_address_encodes_region_and_zone(host):
    _, region, zone, _ = (int(octet) for octet in host.address.split("."))
    # Global hosts (R=0) belong to no AZ; they sit in 127.0.2.0/24 because 127.0.0.53 is
    # often a local resolver.
    assert (region, zone if region else 0) == (host.region, host.az)


@pytest.mark.parametrize("host", FULL.hosts, ids=lambda h: h.name)
def test_host_is_in_exactly_one_location_group(host):
    locations = [g for g in host.groups if g.startswith(("r0_", "r1_", "r2_"))]
    expected = f"r{host.region}_az{host.az}" if host.az else f"r{host.region}_regional"
    assert locations == [expected]


@pytest.mark.parametrize(("group", "octet"), ROLE_OCTET.items())
def test_role_octet_matches_the_service_group(group, octet):
    members = FULL.group(group)
    assert members, group
    assert {int(h.address.split(".")[3]) for h in members} == {octet}


@pytest.mark.parametrize("profile", ["core", "full"])
def test_stateful_tiers_span_three_zones(profile):
    lab = load_lab(profile)
    for group in ("etcd", "postgres", "redis", "sentinel"):
        assert {h.az for h in lab.group(group)} == {1, 2, 3}, group
    assert len({h.az for h in lab.group("rabbitmq")}) == (3 if profile == "full" else 1)


def test_core_profile_leaves_out_the_dr_region_and_the_broker_cluster():
    core = {h.name for h in load_lab("core").hosts}
    full = {h.name for h in FULL.hosts}
    assert full - core == {"mq-2", "mq-3", "db-dr", "cache-dr", "app-dr", "mq-dr", "lb-dr", "pg-lb-dr", "dns"}
    assert "mq-1" in core


def test_parent_groups_hold_both_regions():
    assert {h.name for h in FULL.group("redis_servers")} == {"cache-1", "cache-2", "cache-3", "cache-dr"}
    assert {h.name for h in FULL.group("postgres_exporter")} == {"db-1", "db-2", "db-3"}


def test_the_stack_output_is_what_from_stack_reads():
    stack = parse_stack_output(PLAN.stack_output("full"))
    assert stack.environment == "lab"
    assert stack.ansible_user == "roadie"
    assert len(stack.hosts) == len(PLAN.hosts)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"address": "10.1.1.11"}, "outside 127.0.0.0/8"),
        ({"roles": ["etcd", "database"]}, "unknown: ['database']"),
        ({"profiles": ["tiny"]}, "unknown profiles ['tiny']"),
        ({"address": "127.1.2.11"}, "addresses used twice: 127.1.2.11"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_host(tmp_path, change, named):
    data = yaml.safe_load(plan_file().read_text())
    data["hosts"][0].update(change)
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RoadieError, match=named.replace("[", r"\[").replace("]", r"\]")):
        load_plan(path)
