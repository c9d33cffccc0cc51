"""Route53 failover records for the platform's entry points, managed with boto3.

Each name has two records: PRIMARY (served while its region is healthy) and SECONDARY.
A region failover swaps them, so the surviving region is PRIMARY and a recovered old
region does not take traffic back by itself (Route53 would return to a healthy PRIMARY):
switching back is an explicit failback. In the lab, boto3 talks to a moto server (the
`dns` host) through the same code path; moto stores records but evaluates no health
checks, so `resolve` answers what Route53 answers while the PRIMARY is healthy.

    python -m roadie.dr.dns ensure --endpoint-url http://127.0.2.53:5000 \\
        --record db=127.1.0.52,127.2.0.52 --record app=127.1.0.51,127.2.0.51
"""

import argparse
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from roadie.errors import RoadieError

ZONE = "roadie.example."
TTL = 5
ROLES = ("PRIMARY", "SECONDARY")


@dataclass(frozen=True)
class FailoverName:
    """One name (e.g. `db`) and its address in each region."""

    name: str
    addresses: Mapping[int, str]  # region -> address

    def fqdn(self, zone: str) -> str:
        return f"{self.name}.{zone}"


class FailoverDns:
    """The failover records of one hosted zone."""

    def __init__(self, names: Sequence[FailoverName], endpoint_url: str | None = None, zone: str = ZONE) -> None:
        self.names = tuple(names)
        self.zone = zone
        if endpoint_url:
            # The lab's moto server accepts any credentials; production uses the default chain.
            self.client: Any = boto3.client(
                "route53",
                endpoint_url=endpoint_url,
                region_name="us-east-1",
                aws_access_key_id="roadie-lab",
                aws_secret_access_key="roadie-lab",
            )
        else:
            self.client = boto3.client("route53")
        self._zone_id: str | None = None

    @property
    def zone_id(self) -> str:
        if self._zone_id is None:
            zones = self.client.list_hosted_zones_by_name(DNSName=self.zone)["HostedZones"]
            match = [z for z in zones if z["Name"] == self.zone]
            if not match:
                raise RoadieError(f"hosted zone {self.zone} does not exist: run the DR playbook (dr.yml)")
            self._zone_id = str(match[0]["Id"]).split("/")[-1]
        return self._zone_id

    def ensure(self, primary_region: int = 1) -> bool:
        """Create the zone and any missing record (PRIMARY in primary_region); True if changed.
        Existing records are left as they are: after a failover they point elsewhere on purpose."""
        changed = False
        zones = self.client.list_hosted_zones_by_name(DNSName=self.zone)["HostedZones"]
        if not any(z["Name"] == self.zone for z in zones):
            self.client.create_hosted_zone(Name=self.zone, CallerReference=str(uuid.uuid4()))
            changed = True
            self._zone_id = None
        current = self.records()
        for entry in self.names:
            if set(current.get(entry.name, {})) != set(ROLES):
                self._upsert(entry, primary_region)
                changed = True
        return changed

    def records(self) -> dict[str, dict[str, str]]:
        """name -> {PRIMARY: address, SECONDARY: address} for the managed names."""
        result: dict[str, dict[str, str]] = {}
        pages = self.client.get_paginator("list_resource_record_sets").paginate(HostedZoneId=self.zone_id)
        wanted = {e.fqdn(self.zone): e.name for e in self.names}
        for page in pages:
            for record in page["ResourceRecordSets"]:
                name = wanted.get(record["Name"])
                if name and record.get("Failover") in ROLES and record["Type"] == "A":
                    result.setdefault(name, {})[record["Failover"]] = record["ResourceRecords"][0]["Value"]
        return result

    def point_to(self, region: int) -> None:
        """Make `region` PRIMARY for every name (the other region becomes SECONDARY)."""
        for entry in self.names:
            self._upsert(entry, region)

    def active_region(self) -> int | None:
        """The region every name's PRIMARY record points to (None if they disagree)."""
        records = self.records()
        regions = set()
        for entry in self.names:
            primary = records.get(entry.name, {}).get("PRIMARY")
            regions.add(next((r for r, a in entry.addresses.items() if a == primary), None))
        return regions.pop() if len(regions) == 1 else None

    def resolve(self, name: str) -> str:
        """The address clients get for `name` (the PRIMARY record)."""
        address = self.records().get(name, {}).get("PRIMARY")
        if address is None:
            raise RoadieError(f"no PRIMARY failover record for {name}.{self.zone}")
        return address

    def _upsert(self, entry: FailoverName, primary_region: int) -> None:
        others = sorted(r for r in entry.addresses if r != primary_region)
        if primary_region not in entry.addresses or not others:
            raise RoadieError(f"{entry.name}: no address for region {primary_region} and another region")
        changes = []
        for role, region in (("PRIMARY", primary_region), ("SECONDARY", others[0])):
            changes.append(
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": entry.fqdn(self.zone),
                        "Type": "A",
                        "SetIdentifier": f"{entry.name}-{role.lower()}",
                        "Failover": role,
                        "TTL": TTL,
                        "ResourceRecords": [{"Value": entry.addresses[region]}],
                    },
                }
            )
        self.client.change_resource_record_sets(
            HostedZoneId=self.zone_id,
            ChangeBatch={"Comment": f"roadie: region {primary_region} primary", "Changes": changes},
        )


def parse_record(text: str) -> FailoverName:
    """`db=127.1.0.52,127.2.0.52`: the name, then its address in region 1, 2, ..."""
    name, _, addresses = text.partition("=")
    values = [a for a in addresses.split(",") if a]
    if not name or len(values) < 2:
        raise RoadieError(f"bad record '{text}': expected name=<region 1 address>,<region 2 address>")
    return FailoverName(name, {index + 1: value for index, value in enumerate(values)})


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for Ansible: prints `changed` or `ok`."""
    parser = argparse.ArgumentParser(prog="python -m roadie.dr.dns")
    parser.add_argument("action", choices=["ensure", "show"])
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--zone", default=ZONE)
    parser.add_argument("--record", action="append", default=[], required=True)
    args = parser.parse_args(argv)
    dns = FailoverDns([parse_record(r) for r in args.record], args.endpoint_url, args.zone)
    if args.action == "ensure":
        print("changed" if dns.ensure() else "ok")
    else:
        for name, roles in sorted(dns.records().items()):
            print(f"{name}.{args.zone} PRIMARY={roles.get('PRIMARY')} SECONDARY={roles.get('SECONDARY')}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RoadieError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(1)
