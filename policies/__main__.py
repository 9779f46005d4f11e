"""The webstack policy pack: `pulumi preview --policy-pack policies`.

Only assembles the pack: `PolicyPack(...)` starts the analyzer's gRPC server and serves until
the CLI stops it. The rules live in `webstack_policies` (importable without starting a server);
the CLI runs this file with its folder as the working directory and first entry of sys.path.
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from webstack_policies import ALL

PolicyPack(
    name="webstack-policies",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=ALL,
)
