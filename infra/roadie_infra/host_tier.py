"""Base for the tiers that are plain EC2 hosts configured by Ansible."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi

from roadie_infra.instances import Host, HostsArgs, launch_hosts


class HostTier(pulumi.ComponentResource):
    """A tier of hosts; subclasses name the tier's type (`roadie:<module>:<Class>`)."""

    TYPE: ClassVar[str]
    hosts: list[Host]

    def __init__(self, name: str, args: HostsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, None, opts)
        self.hosts = launch_hosts(name, args, self)
        self.extend(name, args)
        self.register_outputs({"hosts": self.records()})

    def extend(self, name: str, args: HostsArgs) -> None:
        """Hook for tier-specific resources beyond the hosts (none by default)."""

    def records(self) -> list[pulumi.Output[dict[str, Any]]]:
        """Stack-output entries for the hosts of this tier."""
        return [host.record() for host in self.hosts]
