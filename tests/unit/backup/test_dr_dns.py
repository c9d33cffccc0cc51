"""Route53 failover records through boto3 (moto's in-process AWS mock, same API)."""

import pytest
from moto import mock_aws

from roadie.dr.dns import FailoverDns, main, parse_record
from roadie.errors import RoadieError

RECORDS = ["db=127.1.0.52,127.2.0.52", "app=127.1.0.51,127.2.0.51"]


@pytest.fixture
def dns(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield FailoverDns([parse_record(r) for r in RECORDS])


def test_ensure_creates_primary_and_secondary_records_once(dns):
    assert dns.ensure() is True
    assert dns.ensure() is False
    assert dns.records() == {
        "db": {"PRIMARY": "127.1.0.52", "SECONDARY": "127.2.0.52"},
        "app": {"PRIMARY": "127.1.0.51", "SECONDARY": "127.2.0.51"},
    }
    assert dns.active_region() == 1
    assert dns.resolve("db") == "127.1.0.52"


def test_failover_swaps_the_records_and_ensure_keeps_them_swapped(dns):
    dns.ensure()
    dns.point_to(2)
    assert dns.active_region() == 2
    assert dns.resolve("app") == "127.2.0.51"
    assert dns.records()["db"]["SECONDARY"] == "127.1.0.52"
    assert dns.ensure() is False  # a re-run of the playbook must not undo a failover
    assert dns.active_region() == 2


def test_records_carry_route53_failover_routing(dns):
    dns.ensure()
    sets = dns.client.list_resource_record_sets(HostedZoneId=dns.zone_id)["ResourceRecordSets"]
    db = sorted((r["SetIdentifier"], r["Failover"]) for r in sets if r["Name"] == "db.roadie.example.")
    assert db == [("db-primary", "PRIMARY"), ("db-secondary", "SECONDARY")]


def test_bad_record_argument_is_rejected():
    with pytest.raises(RoadieError, match="bad record"):
        parse_record("db=127.1.0.52")


def test_command_line_prints_changed_then_ok(dns, capsys):
    args = ["ensure", *[f"--record={r}" for r in RECORDS]]
    main(args)
    main(args)
    assert capsys.readouterr().out.split() == ["changed", "ok"]
