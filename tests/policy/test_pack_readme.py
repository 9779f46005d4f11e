"""policies/README.md lists exactly the rules the pack serves, at the level it serves them."""

from __future__ import annotations

import re

from pulumi.runtime.proto import analyzer_pb2

from tools.policycheck import PACK_DIR, Analyzer


def test_the_rule_table_is_the_pack(analyzer: Analyzer) -> None:
    readme = (PACK_DIR / "README.md").read_text()
    listed = dict(re.findall(r"^\| `([a-z0-9-]+)` \| ([a-z]+)", readme, re.MULTILINE))
    served = {p.name: p for p in analyzer.info.policies}
    assert set(listed) == set(served)
    for name, level in listed.items():
        # The pack's default level; the per-stack config may raise an advisory one in prod.
        default = analyzer_pb2.EnforcementLevel.Name(served[name].enforcementLevel).lower()
        assert level == default, name
