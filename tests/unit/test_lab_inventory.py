"""The lab inventory follows the address plan 127.R.Z.H of DESIGN.md."""

import ipaddress

import pytest

from roadie.lab.inventory import load_lab

LAB = load_lab()
ROLE_OCTET = {"etcd": 11, "postgres": 11, "redis": 21, "sentinel": 21, "rabbitmq": 41, "pg_lb": 52}


def test_every_address_is_loopback_and_unique():
    addresses = [h.address for h in LAB.hosts]
    assert len(addresses) == len(set(addresses))
    for address in addresses:
        assert ipaddress.ip_address(address) in ipaddress.ip_network("127.0.0.0/8")


@pytest.mark.parametrize("host", LAB.hosts, ids=lambda h: h.name)
def test_address_encodes_region_and_zone(host):
    _, region, zone, _ = (int(octet) for octet in host.address.split("."))
    # Global hosts (R=0) belong to no AZ; they sit in 127.0.2.0/24 because 127.0.0.53 is
    # often a local resolver.
    assert (region, zone if region else 0) == (host.region, host.az)


@pytest.mark.parametrize("host", LAB.hosts, ids=lambda h: h.name)
def test_host_is_in_exactly_one_location_group(host):
    locations = [g for g in host.groups if g.startswith(("r0_", "r1_", "r2_"))]
    expected = f"r{host.region}_az{host.az}" if host.az else f"r{host.region}_regional"
    assert locations == [expected]


@pytest.mark.parametrize(("group", "octet"), ROLE_OCTET.items())
def test_role_octet_matches_the_service_group(group, octet):
    members = LAB.group(group)
    assert members, group
    assert {int(h.address.split(".")[3]) for h in members} == {octet}


def test_stateful_tiers_span_three_zones():
    for group in ("etcd", "postgres", "redis", "sentinel", "rabbitmq"):
        assert {h.az for h in LAB.group(group)} == {1, 2, 3}, group


def test_core_profile_leaves_out_only_the_full_profile_hosts():
    core = {h.name for h in LAB.in_profile("core")}
    full = {h.name for h in LAB.in_profile("full")}
    assert full - core == {h.name for h in LAB.group("lab_full_only")}
    assert "mq-1" in core
