"""The subnet and host address plan: AZ spread, fixed addresses, no overlap."""

import ipaddress
import itertools

import pytest
from roadie_infra import addressing
from roadie_infra.placement import place_hosts
from roadie_infra.tiers import DATABASE, OFFER_STORE, TIERS

VPC = "10.10.0.0/16"
ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")


def test_subnets_do_not_overlap_and_fit_the_vpc():
    subnets = [
        ipaddress.IPv4Network(plan(VPC, az))
        for az in (1, 2, 3)
        for plan in (addressing.public_subnet, addressing.data_subnet, addressing.app_subnet)
    ]
    vpc = ipaddress.IPv4Network(VPC)
    assert all(subnet.subnet_of(vpc) for subnet in subnets)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(subnets, 2))
    # EKS pods take VPC addresses: each AZ's app subnet holds thousands.
    assert ipaddress.IPv4Network(addressing.app_subnet(VPC, 1)).num_addresses >= 8192


def test_hosts_follow_the_lab_plan():
    hosts = place_hosts(DATABASE, 3, ZONES, VPC)
    assert [(h.name, h.az_index, h.zone, h.address) for h in hosts] == [
        ("db-1", 1, "eu-west-1a", "10.10.21.11"),
        ("db-2", 2, "eu-west-1b", "10.10.22.11"),
        ("db-3", 3, "eu-west-1c", "10.10.23.11"),
    ]


def test_round_robin_spread_and_unique_addresses():
    hosts = [h for tier in TIERS for h in place_hosts(tier, 6, ZONES, VPC)]
    assert len({h.address for h in hosts}) == len(hosts)
    for tier in TIERS:
        zones = [h.zone for h in place_hosts(tier, 6, ZONES, VPC)]
        assert zones.count("eu-west-1a") == zones.count("eu-west-1b") == zones.count("eu-west-1c") == 2
    for host in hosts:
        assert ipaddress.IPv4Address(host.address) in ipaddress.IPv4Network(addressing.data_subnet(VPC, host.az_index))


def test_dr_names_match_the_lab():
    assert [h.name for h in place_hosts(DATABASE, 1, ZONES, VPC, dr_site=True)] == ["db-dr"]
    assert [h.name for h in place_hosts(OFFER_STORE, 2, ZONES, VPC, dr_site=True)] == [
        "aero-dr-1",
        "aero-dr-2",
    ]


def test_too_many_hosts_per_az_is_refused():
    with pytest.raises(ValueError, match="at most 9 hosts per AZ"):
        place_hosts(DATABASE, 28, ZONES, VPC)
