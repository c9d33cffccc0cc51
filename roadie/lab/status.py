"""The lab's status: every host's services, their process state and current role."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rich.table import Table

from roadie.lab import hosts
from roadie.lab.inventory import Lab, LabHost
from roadie.lab.probes import probe_role
from roadie.lab.secrets import load_secrets
from roadie.lab.standins import NOT_RUNNABLE
from roadie.services import registry
from roadie.services.registry import Service


@dataclass(frozen=True)
class ServiceRow:
    host: str
    location: str
    address: str
    service: str
    state: str
    role: str


def collect(lab: Lab) -> list[ServiceRow]:
    """One row per installed service of every created host, probed in parallel."""
    created = [h for h in lab.hosts if hosts.is_created(h)]
    if not created:
        return []
    secrets = load_secrets(lab.secrets_file)
    with ThreadPoolExecutor(max_workers=16) as pool:
        per_host = pool.map(lambda h: _host_rows(h, secrets), created)
    return [row for rows in per_host for row in rows]


def _host_rows(host: LabHost, secrets: dict[str, str]) -> list[ServiceRow]:
    location = f"r{host.region}/az{host.az}" if host.az else f"r{host.region}/regional"
    if not hosts.is_powered_on(host):
        return [ServiceRow(host.name, location, host.address, "(host)", "POWERED OFF", "")]
    states = {s.name: s.state for s in hosts.services(host)}
    installed = registry.services(host)
    if not installed:
        return [ServiceRow(host.name, location, host.address, "(none)", "RUNNING", "host up, no services installed")]
    rows = []
    for service in installed:
        state = states.get(service.name, "MISSING")
        role = probe_role(service, secrets) if state == "RUNNING" else _not_running(service)
        rows.append(ServiceRow(host.name, location, host.address, service.name, state, role))
    return rows


def standins_table() -> Table:
    table = Table(title="Not runnable on this machine, and what stands in", title_justify="left")
    for column in ("component", "why", "stand-in"):
        table.add_column(column)
    for item in NOT_RUNNABLE:
        table.add_row(item.component, item.why, item.stand_in)
    return table


def _not_running(service: Service) -> str:
    """Why a service may rightly be down: a standby's services wait for a failover."""
    return "" if service.enabled else "standby: started by a failover"
