"""The region failover against the lab (full profile): region 1 lost under a write
workload, the DR standby cluster promoted, DNS flipped, the old region fenced and taking no
writes when it returns; then the failback restores region 1 as the primary region.
Times are judged against the lab inventory's objectives (group_vars/all/drills.yml)."""

import httpx
import pytest

from roadie.apiauth import ApiCredentials
from roadie.dr import fence
from roadie.dr.drills import DrFailback, DrFailover
from roadie.dr.topology import discover
from roadie.drills import discovery, tickets
from roadie.drills.objectives import lab_objectives
from roadie.errors import RoadieError
from roadie.lab import hosts
from roadie.services import registry
from tests.support import wait_until


@pytest.fixture(scope="module")
def dr_lab(lab, running_hosts):
    try:
        discover(lab)
    except RoadieError as exc:
        pytest.skip(f"the DR region is not up: {exc.message}")
    if not all(hosts.is_powered_on(h) for h in lab.group("postgres_dr")):
        pytest.skip("the DR region is down (it runs in the full profile: 'roadie lab up --profile full')")
    return lab


def region1_back(lab):
    """Every enabled service of every region-1 host runs again (the lab as other tests expect it)."""
    for host in lab.hosts:
        if host.region == 1 and hosts.is_created(host):
            if not hosts.is_powered_on(host):
                return False
            enabled = {s.name for s in registry.services(host) if s.enabled}
            states = {state.name: state.state for state in hosts.services(host)}
            if any(states.get(name) != "RUNNING" for name in enabled):
                return False
    return True


def objectives(name):
    return lab_objectives(discovery.drills())[name]


@pytest.fixture(scope="module")
def failover_result(dr_lab, tmp_path_factory):
    yield DrFailover().run(dr_lab, tmp_path_factory.mktemp("dr-reports"), objectives("dr-failover"))
    # Leave the lab as the next tests expect it: region 1 primary and all of it running.
    if fence.is_fenced(1):
        DrFailback().run(dr_lab, tmp_path_factory.mktemp("dr-failback-cleanup"), objectives("dr-failback"))
    wait_until(lambda: region1_back(dr_lab), 300, "every region-1 service to run again")


def test_standby_cluster_was_promoted_and_dns_points_to_region_2(failover_result):
    print(dict(failover_result.measured))
    assert failover_result.check("standby cluster promoted").met
    assert failover_result.check("DNS points to region 2").met
    assert failover_result.details["endpoints_used"].get("127.2.0.52", 0) > 0


def test_the_failover_meets_the_lab_objectives(failover_result):
    """RTO (database and app) and the RPO window, each against the lab inventory's objective."""
    assert failover_result.measured["acknowledged writes"] > 100
    judged = {c.name for c in failover_result.objectives}
    assert "RPO: window of acknowledged writes lost" in judged
    assert failover_result.objectives_met, [c.as_dict() for c in failover_result.objectives]
    assert failover_result.passed


def test_dr_app_tier_sells_tickets_through_the_dns_name(failover_result, dr_lab):
    """The DR app nodes were started and serve reads and bookings from the promoted cluster."""
    assert failover_result.check("DR app tier serves").met
    url = failover_result.details["facts"]["DR app URL (DNS name app)"]
    api = ApiCredentials.for_lab(dr_lab)
    event_id, seats = tickets.create_event(url, api)
    with httpx.Client(base_url=url, timeout=10) as client:
        session = api.open_session(client, "dr-test")
        booked = client.post(
            "/v1/bookings",
            json={"event_id": event_id, "seat_ids": [seats[0]]},
            headers={"Idempotency-Key": f"dr-test-{event_id}", **session},
        )
        assert booked.status_code == 201, booked.text
        assert client.get(f"/v1/bookings/{booked.json()['id']}", headers=session).json()["status"] == "confirmed"


def test_old_region_takes_no_writes_after_it_came_back(failover_result):
    facts = failover_result.details["facts"]
    assert facts["client writes to region 1 attempted"] > 5
    assert facts["client writes to region 1 accepted"] == 0
    assert facts["region 1 writable members after demotion (max)"] == 0
    assert facts["DNS db answer after region 1 returned"] == "127.2.0.52"


def test_failback_makes_region_1_primary_again_without_losing_writes(failover_result, dr_lab, tmp_path_factory):
    result = DrFailback().run(dr_lab, tmp_path_factory.mktemp("dr-failback-reports"), objectives("dr-failback"))
    print(dict(result.measured))
    assert result.check("DNS points to region 1").met
    assert result.check("region 1 fence lifted").met
    assert result.measured["acknowledged writes lost"] == 0
    assert result.passed, [c.as_dict() for c in result.checks]
