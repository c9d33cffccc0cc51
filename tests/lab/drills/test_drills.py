"""Drills against the lab. The invariants are asserted; the times are measurements that the
reports print (a slow CI machine must not fail a test because a failover took 23 s)."""

import json

import pytest

from roadie.drills import catalog, runner


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return tmp_path_factory.mktemp("drill-reports")


# The alert each drill's fault must page with, seen firing and then cleared by the drill's watch
# (issue 19: az-outage had never fired AvailabilityZoneDown while drills stopped watching early).
PAGES = {"az-outage": "AvailabilityZoneDown"}


@pytest.mark.parametrize("name", ["app-node-loss", "db-primary-loss", "redis-master-loss", "az-outage"])
def test_drill_keeps_the_invariants(lab, running_hosts, reports, name):
    result = runner.run(catalog.get(name), lab, reports)
    if name in PAGES:
        seen = [a for a in result["alerts"]["alerts"] if a["alert"] == PAGES[name] and not a["before_drill"]]
        assert seen and seen[0]["firing_s"] is not None and seen[0]["resolved_s"] is not None, result["alerts"]
    checks = {c["name"]: c for c in result["checks"]}
    # The checker judged the history: every verdict valid, with operations on both sides of the fault.
    assert result["checker"]["valid"], result["checker"]["verdicts"]
    assert result["checker"]["operations"]["ok"] > 0
    assert result["measured"]["acknowledged writes lost"] == 0, checks
    assert checks["most writable primaries at once"]["value"] <= 1
    assert result["invariants_ok"]
    # Two buyers raced for every seat through the load balancer: none sold twice, none lost.
    assert result["measured"]["seats sold twice"] == 0
    assert result["measured"]["acknowledged bookings lost"] == 0
    assert result["measured"]["bookings confirmed"] > 0
    assert result["measured"]["booking conflicts (409)"] > 0  # the race really happened
    # The fault really happened: the target went away and the platform noticed it.
    assert result["target"]
    noticed = {**result["detection_s"], **result["failover_s"]}
    assert any(v is not None for v in noticed.values()), noticed
    # The probes ran throughout and wrote acknowledged data that was then verified.
    # (A drill lasts ~15 s; the slowest probe, app-read, asks every 0.1 s and took up to
    # ~0.3 s per answer on two loaded cores: 46 requests measured, so 25 is a floor, not a goal.)
    assert all(p["requests"] >= 25 for p in result["probes"]), result["probes"]
    report = json.loads((reports / result["report"].split("/")[-1] / "report.json").read_text())
    assert report["drill"] == name and report["requests"]
    assert (reports / result["report"].split("/")[-1] / "timeline.png").stat().st_size > 10_000


@pytest.mark.parametrize("name", ["db-primary-loss", "db-switchover"])
def test_keyed_bookings_ride_out_the_failover(lab, running_hosts, reports, name):
    """Issue 15: the app re-runs keyed bookings while there is no primary, so no buyer sees an
    error and every booking is acknowledged exactly once. The latency goal (longest booking <=
    the database's write gap + 1 s) is a measurement: the report judges it, this test prints it."""
    result = runner.run(catalog.get(name), lab, reports)
    checks = {c["name"]: c for c in result["checks"]}
    latency = checks["longest booking latency"]
    assert result["measured"]["failed keyed bookings"] == 0, (checks["failed keyed bookings"], latency)
    verdicts = {(v["checker"], v["workload"]): v for v in result["checker"]["verdicts"]}
    for checker in ("set", "idempotency", "per seat"):
        assert verdicts[(checker, "bookings")]["valid"], verdicts[(checker, "bookings")]
    assert result["measured"]["bookings confirmed"] > 0
    print(f"{name}: longest booking {latency['value']} s, goal {latency['goal']}, met {latency['met']}")
