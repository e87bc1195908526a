"""The rules of policy/rules.py as pulumi-policy resource validations, all mandatory."""
from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy
from rules import RULES

NAME = "perflab-aws"


def policies() -> list[ResourceValidationPolicy]:
    return [ResourceValidationPolicy(name=rule.name, description=rule.description, validate=rule.validate,
                                     enforcement_level=EnforcementLevel.MANDATORY) for rule in RULES]
