"""perflab's AWS policy pack: `pulumi preview -s aws --policy-pack policy` (the rules: policy/rules.py).

Serves the pack to the Pulumi CLI (PolicyPack blocks); tests import policy/pack.py and policy/rules.py.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the pack's directory is not a package

from pack import NAME, policies  # noqa: E402
from pulumi_policy import EnforcementLevel, Policy, PolicyPack  # noqa: E402

every_policy: list[Policy] = [*policies()]
PolicyPack(name=NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=every_policy)
