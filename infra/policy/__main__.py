"""roadie's policy pack: `pulumi preview --policy-pack infra/policy` enforces it."""

from pulumi_policy import EnforcementLevel, PolicyPack
from roadie_policy.policies import POLICIES

PolicyPack(name="roadie", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
