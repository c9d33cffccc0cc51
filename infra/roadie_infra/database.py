"""Database tier: Patroni/PostgreSQL + etcd hosts spread over AZs, behind an internal NLB.

The NLB plays the lab's HAProxy (`pg_lb`): port 5000 reaches the member whose Patroni REST
API answers 200 on `/primary`, port 5001 the ones answering `/replica`. It is regional, like
the lab's `r1_regional` pg-lb host that no single AZ failure takes down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from roadie.inventory import ports
from roadie_infra.instances import Host, HostsArgs, launch_hosts
from roadie_infra.tagging import tags

# The members' ports and the NLB's listeners, from the port table the roles read (the NLB
# listens where the lab's HAProxy does).
PATRONI_PORT = ports.port("patroni", "restapi")
POSTGRES_PORT = ports.port("patroni", "postgresql")
HEALTH_CHECK_INTERVAL_SECONDS = 5
# (listener port, Patroni endpoint that is 200 only on the right members)
ENDPOINTS: tuple[tuple[int, str], ...] = (
    (ports.port("haproxy_pg", "primary"), "/primary"),
    (ports.port("haproxy_pg", "replicas"), "/replica"),
)


@dataclass(frozen=True)
class DatabaseArgs:
    hosts: HostsArgs
    vpc_id: pulumi.Input[str]
    lb_subnet_ids: Sequence[pulumi.Input[str]]
    lb_security_group_id: pulumi.Input[str]


class DatabaseTier(pulumi.ComponentResource):
    """Patroni members (each also an etcd member) and the read-write/read-only NLB."""

    hosts: list[Host]
    load_balancer: aws.lb.LoadBalancer
    target_groups: list[aws.lb.TargetGroup]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("roadie:database:DatabaseTier", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = args.hosts.environment
        self.hosts = launch_hosts(name, args.hosts, self)
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-nlb",
            load_balancer_type="network",
            internal=True,
            subnets=list(args.lb_subnet_ids),
            security_groups=[args.lb_security_group_id],
            # A client in AZ 1 must reach the primary in AZ 3.
            enable_cross_zone_load_balancing=True,
            tags=tags(env, "pgLb", f"roadie-{env}-pg"),
            opts=child,
        )
        self.target_groups = []
        for port, path in ENDPOINTS:
            group = self._target_group(name, env, port=port, path=path, args=args, opts=child)
            aws.lb.Listener(
                f"{name}-listener-{port}",
                load_balancer_arn=self.load_balancer.arn,
                port=port,
                protocol="TCP",
                default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=group.arn)],
                opts=child,
            )
            for host in self.hosts:
                aws.lb.TargetGroupAttachment(
                    f"{name}-{port}-{host.placement.name}",
                    target_group_arn=group.arn,
                    target_id=host.instance.id,
                    port=POSTGRES_PORT,
                    opts=child,
                )
            self.target_groups.append(group)
        self.register_outputs({"hosts": self.records(), "endpoint": self.load_balancer.dns_name})

    def records(self) -> list[pulumi.Output[dict[str, Any]]]:
        """Stack-output entries for the database hosts."""
        return [host.record() for host in self.hosts]

    def _target_group(
        self, name: str, env: str, *, port: int, path: str, args: DatabaseArgs, opts: pulumi.ResourceOptions
    ) -> aws.lb.TargetGroup:
        return aws.lb.TargetGroup(
            f"{name}-{port}",
            port=POSTGRES_PORT,
            protocol="TCP",
            vpc_id=args.vpc_id,
            target_type="instance",
            # A demoted primary must stop taking writes at once: no draining, and cut open
            # connections when the target turns unhealthy (HAProxy's shutdown-sessions).
            deregistration_delay=0,
            connection_termination=True,
            target_health_states=[
                aws.lb.TargetGroupTargetHealthStateArgs(enable_unhealthy_connection_termination=True)
            ],
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                protocol="HTTP",
                port=str(PATRONI_PORT),
                path=path,
                interval=HEALTH_CHECK_INTERVAL_SECONDS,
                timeout=2,
                healthy_threshold=2,
                unhealthy_threshold=2,
            ),
            tags=tags(env, "pgLb", f"roadie-{env}-pg-{port}"),
            opts=opts,
        )
