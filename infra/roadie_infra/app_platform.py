"""App platform tier: an EKS cluster whose node group spans the stack's AZs.

Pods scale with the app's HPA (3 -> 50); nodes scale with a target-tracking policy on the node
group's Auto Scaling group, within `roadie:appNodes` (min 3, max 50 in prod).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from roadie_infra.settings import AppNodeSettings
from roadie_infra.tagging import tags

_NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)
NODE_VOLUME_GIB = 50


def _assume_role(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


@dataclass(frozen=True)
class AppPlatformArgs:
    environment: str
    region: str
    kubernetes_version: str
    nodes: AppNodeSettings
    subnet_ids: Sequence[pulumi.Input[str]]
    """App subnets, one per AZ: the node group spans all of them."""
    node_security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    admin_cidrs: tuple[str, ...]


class AppPlatform(pulumi.ComponentResource):
    """EKS cluster, node launch template (IMDSv2, encrypted root), node group, node scaling."""

    cluster: aws.eks.Cluster
    launch_template: aws.ec2.LaunchTemplate
    node_group: aws.eks.NodeGroup
    autoscaling_group_name: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(self, name: str, args: AppPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("roadie:appplatform:AppPlatform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = args.environment
        self.cluster = self._cluster(name, args, child)
        node_role = aws.iam.Role(
            f"{name}-node",
            assume_role_policy=_assume_role("ec2.amazonaws.com"),
            tags=tags(env, "app"),
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-node-{index}", role=node_role.name, policy_arn=arn, opts=child)
            for index, arn in enumerate(_NODE_POLICIES)
        ]
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-node",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # Pods use IRSA, not the node's role: one hop keeps containers off the node's IMDS.
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=NODE_VOLUME_GIB,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=args.kms_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            # A launch template that names security groups replaces EKS's default, so the
            # cluster security group (control plane <-> nodes) is listed explicitly.
            vpc_security_group_ids=[
                self.cluster.vpc_config.cluster_security_group_id,
                args.node_security_group_id,
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags=tags(env, "app", f"roadie-{env}-app")
                )
                for kind in ("instance", "volume")
            ],
            tags=tags(env, "app"),
            opts=child,
        )
        nodes = args.nodes
        self.node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=self.cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=list(args.subnet_ids),
            instance_types=[nodes.instance_type],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=nodes.min_size, max_size=nodes.max_size, desired_size=nodes.desired_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)
            ),
            tags=tags(env, "app"),
            # The scaling policy moves the desired size; a later `pulumi up` must not undo it.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=attachments, ignore_changes=["scalingConfig.desiredSize"]
            ),
        )
        self.autoscaling_group_name = self.node_group.resources.apply(
            lambda resources: resources[0].autoscaling_groups[0].name  # type: ignore[index,union-attr]
        )
        aws.autoscaling.Policy(
            f"{name}-cpu",
            autoscaling_group_name=self.autoscaling_group_name,
            policy_type="TargetTrackingScaling",
            estimated_instance_warmup=120,
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ASGAverageCPUUtilization"
                ),
                target_value=float(nodes.target_cpu_percent),
            ),
            opts=child,
        )
        for index, cidr in enumerate(args.admin_cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-admin-{index}",
                security_group_id=self.cluster.vpc_config.cluster_security_group_id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=cidr,
                description="Kubernetes API from the admin networks",
                tags=tags(env, "app"),
                opts=child,
            )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self._kubeconfig(args.region),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.node_group]),
        )
        self.register_outputs(
            {"cluster_name": self.cluster.name, "autoscaling_group_name": self.autoscaling_group_name}
        )

    def _cluster(self, name: str, args: AppPlatformArgs, opts: pulumi.ResourceOptions) -> aws.eks.Cluster:
        env = args.environment
        role = aws.iam.Role(
            f"{name}-cluster",
            assume_role_policy=_assume_role("eks.amazonaws.com"),
            tags=tags(env, "app"),
            opts=opts,
        )
        policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=opts,
        )
        return aws.eks.Cluster(
            f"{name}-cluster",
            role_arn=role.arn,
            version=args.kubernetes_version,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args.subnet_ids),
                # The API has no public endpoint: operators (and `pulumi up`) reach it from the
                # admin networks inside the VPC, allowed below.
                endpoint_private_access=True,
                endpoint_public_access=False,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode="API"),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.kms_key_arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            tags=tags(env, "app", f"roadie-{env}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    def _kubeconfig(self, region: str) -> pulumi.Output[str]:
        return pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.data
        ).apply(
            lambda values: json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": values[0],
                            "cluster": {"server": values[1], "certificate-authority-data": values[2]},
                        }
                    ],
                    "contexts": [{"name": values[0], "context": {"cluster": values[0], "user": "aws"}}],
                    "current-context": values[0],
                    "users": [
                        {
                            "name": "aws",
                            "user": {
                                "exec": {
                                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                                    "command": "aws",
                                    "args": [
                                        "eks",
                                        "get-token",
                                        "--cluster-name",
                                        values[0],
                                        "--region",
                                        region,
                                    ],
                                }
                            },
                        }
                    ],
                }
            )
        )
