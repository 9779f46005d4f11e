"""The program's config and the policy pack call the same env var names secrets."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from components.config import SECRET_NAME_PATTERN

PACK = Path(__file__).resolve().parents[2] / "policies"


def test_config_and_pack_share_one_secret_name_pattern() -> None:
    sys.path.insert(0, str(PACK))
    try:
        spec = importlib.util.spec_from_file_location(
            "webstack_policies.secrets", PACK / "webstack_policies" / "secrets.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(PACK))
    assert module.ENV_DEFAULTS["secretNamePattern"] == SECRET_NAME_PATTERN
