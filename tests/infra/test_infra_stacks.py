"""Each environment's stack, built with mocks: the resources carry the promised properties."""

import json
from pathlib import Path

import pytest
from roadie_infra.tiers import TIERS

from tests.infra.infra_harness import shipped_stack

ENVIRONMENTS = ("dev", "staging", "prod", "dr")
INSTANCE = "aws:ec2/instance:Instance"
STATEFUL = {tier.key for tier in TIERS if tier.stateful}


@pytest.fixture(params=ENVIRONMENTS)
def stack(request):
    return shipped_stack(request.param)


def instances_by_tier(stack):
    tiers: dict[str, list] = {}
    for instance in stack.of_type(INSTANCE):
        tiers.setdefault(instance.inputs["tags"]["roadie:tier"], []).append(instance)
    return tiers


def test_prod_spreads_every_stateful_tier_over_three_azs():
    tiers = instances_by_tier(shipped_stack("prod"))
    assert set(tiers) >= STATEFUL
    for tier in STATEFUL:
        zones = {instance.inputs["availabilityZone"] for instance in tiers[tier]}
        assert zones == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}, tier
        # Each host sits in the data subnet of its own AZ.
        for instance in tiers[tier]:
            az = "abc".index(instance.inputs["availabilityZone"][-1]) + 1
            assert instance.inputs["subnetId"] == f"network-data-{az}-id"


def test_every_instance_requires_imdsv2(stack):
    templates = stack.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert stack.of_type(INSTANCE) and templates
    for resource in [*stack.of_type(INSTANCE), *templates]:
        assert resource.inputs["metadataOptions"]["httpTokens"] == "required", resource.name
        assert resource.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_every_volume_is_encrypted_with_the_stack_key(stack):
    for instance in stack.of_type(INSTANCE):
        volumes = [instance.inputs["rootBlockDevice"], *instance.inputs.get("ebsBlockDevices", [])]
        assert all(volume["encrypted"] is True for volume in volumes), instance.name
        assert all(volume["kmsKeyId"] == "arn:aws:kms:::key/storage" for volume in volumes)
        is_nvme_tier = instance.inputs["tags"]["roadie:tier"] == "offerStore"
        assert len(volumes) == (1 if is_nvme_tier else 2), instance.name
    (template,) = stack.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert [m["ebs"]["encrypted"] for m in template.inputs["blockDeviceMappings"]] == ["true"]
    (cluster,) = stack.of_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]


def test_offer_store_uses_instance_store_types(stack):
    for instance in instances_by_tier(stack).get("offerStore", []):
        assert instance.inputs["instanceType"].split(".")[0] in {"i3", "i3en", "i4i", "i4g", "i7ie"}


@pytest.mark.parametrize(("env", "bounds"), [("prod", (3, 50)), ("dr", (0, 3)), ("dev", (1, 3))])
def test_node_group_bounds_and_target_tracking(env, bounds):
    stack = shipped_stack(env)
    (group,) = stack.of_type("aws:eks/nodeGroup:NodeGroup")
    scaling = group.inputs["scalingConfig"]
    assert (scaling["minSize"], scaling["maxSize"]) == bounds
    assert len(group.inputs["subnetIds"]) == 3  # the node group spans all three AZs
    (policy,) = stack.of_type("aws:autoscaling/policy:Policy")
    assert policy.inputs["policyType"] == "TargetTrackingScaling"
    assert policy.inputs["autoscalingGroupName"] == "eks-app-nodes-asg"
    target = policy.inputs["targetTrackingConfiguration"]
    assert target["predefinedMetricSpecification"]["predefinedMetricType"] == "ASGAverageCPUUtilization"


def test_load_balancers_check_health_every_5_seconds(stack):
    groups = {group.name: group.inputs for group in stack.of_type("aws:lb/targetGroup:TargetGroup")}
    assert set(groups) == {"lb-app", "database-5000", "database-5001"}
    assert all(group["healthCheck"]["interval"] == 5 for group in groups.values())
    assert groups["lb-app"]["healthCheck"]["path"] == "/readyz"
    assert groups["lb-app"]["port"] == 30080
    assert groups["database-5000"]["healthCheck"]["path"] == "/primary"
    assert groups["database-5001"]["healthCheck"]["path"] == "/replica"
    (attachment,) = stack.of_type("aws:autoscaling/attachment:Attachment")
    assert attachment.inputs["autoscalingGroupName"] == "eks-app-nodes-asg"


@pytest.mark.parametrize(("env", "nat_gateways"), [("prod", 3), ("dr", 3), ("staging", 1), ("dev", 1)])
def test_nat_gateway_per_az_in_prod(env, nat_gateways):
    stack = shipped_stack(env)
    assert len(stack.of_type("aws:ec2/natGateway:NatGateway")) == nat_gateways
    routes = [
        table.inputs["routes"][0]["natGatewayId"]
        for table in stack.of_type("aws:ec2/routeTable:RouteTable")
        if "natGatewayId" in table.inputs["routes"][0]
    ]
    assert len(routes) == 3 and len(set(routes)) == nat_gateways


def test_only_the_public_load_balancer_is_open_to_the_internet(stack):
    open_rules = [
        rule.inputs
        for rule in stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if rule.inputs.get("cidrIpv4") == "0.0.0.0/0"
    ]
    assert sorted(rule["fromPort"] for rule in open_rules) == [80, 443]
    assert {rule["securityGroupId"] for rule in open_rules} == {"security-lb-id"}


def test_database_accepts_postgres_only_from_its_load_balancer_peers_and_itself():
    rules = [
        rule.inputs
        for rule in shipped_stack("prod").of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if rule.inputs["securityGroupId"] == "security-database-id" and rule.inputs["fromPort"] == 5432
    ]
    sources = {rule.get("referencedSecurityGroupId") or rule.get("cidrIpv4") for rule in rules}
    assert sources == {"security-pgLb-id", "security-database-id", "10.11.0.0/16"}


def lifecycle_rules(stack):
    configs = stack.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    return {config.name: {rule["id"]: rule for rule in config.inputs["rules"]} for config in configs}


def test_backups_bucket_is_versioned_kms_encrypted_and_private():
    stack = shipped_stack("prod")
    assert {b.name: b.inputs.get("region") for b in stack.of_type("aws:s3/bucket:Bucket")} == {
        "backups": "eu-west-1",
        "backups-replica": "eu-central-1",
    }
    for versioning in stack.of_type("aws:s3/bucketVersioning:BucketVersioning"):
        assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    for encryption in stack.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        default = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"].startswith("arn:aws:kms")
    blocks = stack.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert len(blocks) == 2
    for block in blocks:
        assert all(
            block.inputs[flag] is True
            for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )


def test_backup_lifecycle_keeps_90_days_and_archives_yearly_to_cold_storage():
    rules = lifecycle_rules(shipped_stack("prod"))["backups-lifecycle"]
    kept = rules["keep-deleted-backups"]
    assert kept["status"] == "Enabled" and kept["filter"]["prefix"] == "repo/"
    assert kept["noncurrentVersionExpiration"]["noncurrentDays"] == 90
    assert "expiration" not in kept  # pgBackRest, not S3, expires current backups
    archive = rules["yearly-archives"]
    assert archive["filter"]["prefix"] == "archive/"
    assert archive["transitions"] == [{"days": 0, "storageClass": "DEEP_ARCHIVE"}]
    assert archive["expiration"]["days"] == 2555


def test_backups_replicate_to_the_dr_region():
    stack = shipped_stack("prod")
    (replication,) = stack.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    (rule,) = replication.inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["destination"]["bucket"] == "arn:aws:s3:::backups-replica"
    assert rule["destination"]["encryptionConfiguration"]["replicaKmsKeyId"] == "arn:aws:kms:::key/backups-replica-key"
    assert rule["deleteMarkerReplication"]["status"] == "Enabled"
    replica_region = stack.one("aws:s3/bucket:Bucket", "backups-replica").inputs["region"]
    assert replica_region == shipped_stack("dr").outputs["region"] != stack.outputs["region"]


def test_dr_reads_prod_and_fails_over_with_health_checks():
    stack = shipped_stack("dr")
    (reference,) = stack.of_type("pulumi:pulumi:StackReference")
    assert reference.inputs["name"] == "organization/roadie/prod"
    assert stack.outputs["region"] == "eu-central-1" != shipped_stack("prod").outputs["region"]
    checks = {check.name: check.inputs for check in stack.of_type("aws:route53/healthCheck:HealthCheck")}
    assert checks["dr-primary"]["fqdn"] == "lb-alb.eu-west-1.elb.amazonaws.com"  # prod's LB, from prod's outputs
    assert checks["dr-secondary"]["fqdn"] == "lb-alb.elb.amazonaws.com"  # this region's LB
    assert all(check["resourcePath"] == "/readyz" and check["requestInterval"] == 10 for check in checks.values())
    records = {record.name: record.inputs for record in stack.of_type("aws:route53/record:Record")}
    assert records["dr-primary"]["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    assert records["dr-secondary"]["failoverRoutingPolicies"] == [{"type": "SECONDARY"}]
    assert records["dr-primary"]["healthCheckId"] == "dr-primary-id"
    assert records["dr-secondary"]["healthCheckId"] == "dr-secondary-id"
    assert {record["name"] for record in records.values()} == {"tickets.example.com"}


def test_dr_peers_with_prod_and_routes_both_ways():
    stack = shipped_stack("dr")
    (peering,) = stack.of_type("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
    assert (peering.inputs["peerVpcId"], peering.inputs["peerRegion"]) == ("vpc-prod", "eu-west-1")
    routes = {route.name: route.inputs for route in stack.of_type("aws:ec2/route:Route")}
    to_prod = [r for name, r in routes.items() if "to-primary" in name]
    from_prod = [r for name, r in routes.items() if "from-primary" in name]
    assert {r["destinationCidrBlock"] for r in to_prod} == {"10.10.0.0/16"} and len(to_prod) == 3
    assert {r["routeTableId"] for r in from_prod} == {"rtb-prod-1", "rtb-prod-2", "rtb-prod-3"}
    assert {r["destinationCidrBlock"] for r in from_prod} == {"10.11.0.0/16"}


def test_dr_standby_hosts_sit_in_region_2():
    # The DR region's app depends on nothing in prod: its own Redis + Sentinel and RabbitMQ. Its
    # hosts are in the region's own groups (as in the lab), never in the primary's clusters.
    hosts = shipped_stack("dr").outputs["hosts"]
    assert [(h["name"], h["region"], h["roles"]) for h in hosts] == [
        ("db-dr", 2, ["etcd_dr", "postgres_dr"]),
        ("cache-dr", 2, ["redis_dr", "sentinel_dr"]),
        ("mq-dr", 2, ["rabbitmq_dr"]),
    ]


def test_stack_outputs_give_every_host_its_address_az_and_roles(stack):
    hosts = stack.outputs["hosts"]
    instances = {i.inputs["tags"]["Name"]: i.inputs for i in stack.of_type(INSTANCE)}
    assert {host["name"] for host in hosts} == set(instances)
    for host in hosts:
        instance = instances[host["name"]]
        assert host["address"] == instance["privateIp"]
        assert host["zone"] == instance["availabilityZone"]
        assert host["zone"] == stack.outputs["availability_zones"][host["az"] - 1]
        assert ",".join(host["roles"]) == instance["tags"]["roadie:roles"]


def test_prod_data_hosts_refuse_api_termination():
    for instance in shipped_stack("prod").of_type(INSTANCE):
        stateful = instance.inputs["tags"]["roadie:tier"] in STATEFUL
        assert instance.inputs.get("disableApiTermination", False) is stateful


SAMPLES = Path(__file__).resolve().parent / "data"


@pytest.mark.parametrize("env", ["prod", "dr"])
def test_sample_stack_outputs_are_what_the_program_exports(env):
    # tests/unit/test_inventory_from_stack.py builds inventories from these samples: they
    # must not drift from the program's real `hosts` output.
    sample = json.loads((SAMPLES / f"{env}-stack-output.json").read_text())
    assert sample == json.loads(json.dumps(shipped_stack(env).outputs))


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_only_the_backup_host_may_write_the_backup_bucket(env):
    # pgBackRest's repository host writes both repositories; the members' WAL goes through it.
    policies = {p.name: p for p in shipped_stack(env).of_type("aws:iam/rolePolicy:RolePolicy")}
    assert "backup-access" in policies, sorted(policies)
    assert not any(name.startswith("database") for name in policies), sorted(policies)
    (backup,) = [i for i in shipped_stack(env).of_type(INSTANCE) if i.inputs["tags"]["roadie:tier"] == "backup"]
    assert backup.inputs["tags"]["roadie:roles"] == "backup_repo"
