"""Load balancer tier: the public ALB in front of the app's NodePort on every EKS node."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from roadie_infra.security import APP_NODE_PORT, LB_HTTP_PORT, LB_HTTPS_PORT
from roadie_infra.tagging import tags

HEALTH_CHECK_PATH = "/readyz"
HEALTH_CHECK_INTERVAL_SECONDS = 5
"""With 2 failed checks a dead node leaves rotation in ~10 s, inside the app's error budget."""


@dataclass(frozen=True)
class LoadBalancerArgs:
    environment: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    autoscaling_group_name: pulumi.Input[str]
    certificate_arn: str | None


class LoadBalancer(pulumi.ComponentResource):
    """ALB, a target group health-checking `/readyz` every 5 s, and its listeners."""

    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("roadie:loadbalancer:LoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = args.environment
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            subnets=list(args.subnet_ids),
            security_groups=[args.security_group_id],
            drop_invalid_header_fields=True,
            tags=tags(env, "lb", f"roadie-{env}"),
            opts=child,
        )
        self.target_group = aws.lb.TargetGroup(
            f"{name}-app",
            port=APP_NODE_PORT,
            protocol="HTTP",
            vpc_id=args.vpc_id,
            target_type="instance",
            deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                path=HEALTH_CHECK_PATH,
                protocol="HTTP",
                interval=HEALTH_CHECK_INTERVAL_SECONDS,
                timeout=3,
                healthy_threshold=2,
                unhealthy_threshold=2,
                matcher="200",
            ),
            tags=tags(env, "lb", f"roadie-{env}-app"),
            opts=child,
        )
        # Nodes join and leave with the Auto Scaling group; the attachment keeps the target
        # group in step without listing instances.
        aws.autoscaling.Attachment(
            f"{name}-nodes",
            autoscaling_group_name=args.autoscaling_group_name,
            lb_target_group_arn=self.target_group.arn,
            opts=child,
        )
        forward = aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self.target_group.arn)
        if args.certificate_arn:
            aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=self.load_balancer.arn,
                port=LB_HTTPS_PORT,
                protocol="HTTPS",
                certificate_arn=args.certificate_arn,
                ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                default_actions=[forward],
                opts=child,
            )
            http_action = aws.lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                    port=str(LB_HTTPS_PORT), protocol="HTTPS", status_code="HTTP_301"
                ),
            )
        else:
            http_action = forward
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=self.load_balancer.arn,
            port=LB_HTTP_PORT,
            protocol="HTTP",
            default_actions=[http_action],
            opts=child,
        )
        self.register_outputs({"dns_name": self.load_balancer.dns_name, "zone_id": self.load_balancer.zone_id})
