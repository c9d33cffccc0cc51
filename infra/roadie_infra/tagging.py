"""Tags every resource carries: the policy pack and the operators read the tier from them."""

from __future__ import annotations


def tags(environment: str, tier: str, name: str | None = None) -> dict[str, str]:
    """Tags for one resource; `Name` is what the AWS console shows."""
    result = {
        "roadie:environment": environment,
        "roadie:tier": tier,
        "roadie:managed-by": "pulumi",
    }
    if name:
        result["Name"] = name
    return result
