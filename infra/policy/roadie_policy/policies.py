"""The pulumi-policy objects of roadie's pack, built from the plain rules in `rules`.

Constructing a `PolicyPack` starts the policy server and blocks, so it happens only in the
pack's `__main__.py`; this module can be imported (and its policies called) by tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from roadie_policy import rules

ResourceRule = Callable[[str, rules.Props], list[str]]
StackRule = Callable[[list[rules.Resource]], Sequence[tuple[str, str | None]]]


def _resource_policy(name: str, rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule(args.resource_type, args.props):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=name,
        description=(rule.__doc__ or name).strip(),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
    )


def _stack_policy(name: str, rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            rules.Resource(
                resource_type=resource.resource_type,
                urn=resource.urn,
                props=resource.props,
                depends_on=frozenset(
                    dependency.urn
                    for dependencies in (resource.dependencies, *resource.property_dependencies.values())
                    for dependency in dependencies
                ),
            )
            for resource in args.resources
        ]
        for message, urn in rule(resources):
            report_violation(message, urn)

    return StackValidationPolicy(
        name=name,
        description=(rule.__doc__ or name).strip(),
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
    )


RESOURCE_POLICIES: list[ResourceValidationPolicy] = [
    _resource_policy("no-open-ingress", rules.no_open_ingress),
    _resource_policy("storage-encrypted", rules.storage_encrypted),
    _resource_policy("s3-public-access-blocked", rules.public_access_blocked),
    _resource_policy("backup-retention-90-days", rules.backup_retention),
    _resource_policy("imdsv2-required", rules.imdsv2_required),
]
STACK_POLICIES: list[StackValidationPolicy] = [
    _stack_policy("s3-buckets-encrypted-and-private", rules.buckets_protected),
    _stack_policy("prod-stateful-tiers-span-3-azs", rules.stateful_tiers_span_azs),
]
POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [*RESOURCE_POLICIES, *STACK_POLICIES]
