"""Mistakes that used to pass silently or crash: each is now a problem naming the key and stack.

A misspelt namespace, a duplicate YAML key, an environment that is not the stack's, an unknown
region, a YAML syntax error, CORS origins through `api.environment`, one prod API task.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from components.aws_facts import AWS_REGIONS
from components.config import ConfigError, parse_stack_config
from components.config.reader import edit_distance
from tests.helpers import (
    assert_problem,
    committed,
    parse,
    parse_problems,
    problems_of,
    six_zones,
    stack_values,
)
from tools import configdoc, plan, policycheck, stackfile
from tools.checkov import __main__ as checkov
from tools.stackfile import StackFileError, load_stack_config

# ---------------------------------------------------------------------------------------------
# Namespaces


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("kitten", "sitting", 3),
        ("", "abc", 3),
        ("flaw", "lawn", 2),
        ("webstack", "webstack", 0),
        ("webstak", "webstack", 1),
        ("wbestack", "webstack", 2),  # a swap is two edits
        ("webstack_", "webstack", 1),
    ],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


@pytest.mark.parametrize(
    "key",
    [
        "webstak:secrets",
        "webstak:costAssumptions",
        "webstack_:x",
        "Webstack:domain",
        "WEBSTACK:owner",
        "wepstac:api",  # two edits
    ],
)
def test_a_misspelt_namespace_is_named(key: str) -> None:
    problems = parse_problems("prod", overrides={key: "x"})
    namespace, _, rest = key.partition(":")
    assert_problem(problems, key, "prod", f"unknown config namespace {namespace!r}")
    assert_problem(problems, key, "prod", f"did you mean webstack:{rest}?")


def test_other_namespaces_are_left_alone() -> None:
    # Three edits from webstack and more: another tool's namespace, not a typo of ours.
    overrides = {"aws:skipMetadataApiCheck": "true", "random:seed": "1", "websites:x": "y"}
    config = parse("staging", overrides=overrides)
    assert config.stack == "staging"


def test_the_tooling_refuses_a_misspelt_namespace_in_the_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.prod.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  webstak:costAssumptions:\n    natGbPerMonth: 5\n"
    )
    with pytest.raises(StackFileError) as info:
        load_stack_config("prod", root=tmp_path)
    assert "Pulumi.prod.yaml: webstak:costAssumptions (prod): unknown config namespace" in str(
        info.value
    )


# ---------------------------------------------------------------------------------------------
# The stack file itself


def test_duplicate_keys_are_named_with_their_lines(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.staging.yaml").write_text(
        "config:\n"  # 1
        "  webstack:api:\n"  # 2
        "    cpu: 512\n"  # 3
        "    memory: 1024\n"  # 4
        "    cpu: 1024\n"  # 5
        "  webstack:owner: a\n"  # 6
        "  webstack:owner: b\n"  # 7
    )
    with pytest.raises(StackFileError) as info:
        load_stack_config("staging", root=tmp_path)
    assert str(info.value).splitlines() == [
        "Pulumi.staging.yaml:5: duplicate key 'cpu' (first at line 3)",
        "Pulumi.staging.yaml:7: duplicate key 'webstack:owner' (first at line 6)",
    ]


def test_repeated_keys_in_different_mappings_are_fine(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.staging.yaml").write_text(
        "config:\n  webstack:api:\n    cpu: 512\n  webstack:worker:\n    cpu: 256\n"
    )
    config, _ = load_stack_config("staging", root=tmp_path)
    assert config["webstack:worker"] == '{"cpu": 256}'


BROKEN_YAML = "config:\n  aws:region: us-east-1\n  webstack:api: {cpu: 512\n  webstack:x: 1\n"
DUPLICATE_KEY = "config:\n  aws:region: us-east-1\n  webstack:owner: a\n  webstack:owner: b\n"
# A stack file the CLI would refuse, and what the tooling must say about it (file and line).
REFUSED_FILES = [
    pytest.param(BROKEN_YAML, "Pulumi.staging.yaml:4:", id="syntax-error"),
    pytest.param(
        DUPLICATE_KEY,
        "Pulumi.staging.yaml:4: duplicate key 'webstack:owner' (first at line 3)",
        id="duplicate-key",
    ),
]


def test_a_yaml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.staging.yaml").write_text(BROKEN_YAML)
    with pytest.raises(StackFileError) as info:
        load_stack_config("staging", root=tmp_path)
    assert str(info.value).startswith("Pulumi.staging.yaml:4:")
    assert "not valid YAML" in str(info.value)


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory the tooling reads stack files from, instead of the repository's."""
    monkeypatch.setattr(stackfile, "ROOT", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *REFUSED_FILES,
        (
            "config:\n  aws:region: us-east-1\n  webstack:environment: prod\n",
            "webstack:environment (staging): ",
        ),
        (
            "config:\n  webstack:costAssumptions:\n    natGB: 5\n",
            "webstack:costAssumptions.natGB (staging): unknown key",
        ),
        (
            "config:\n  webstak:costAssumptions:\n    natGbPerMonth: 5\n",
            "webstak:costAssumptions (staging): unknown config namespace",
        ),
    ],
)
def test_make_plan_exits_2_naming_the_mistake(
    stack_dir: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    (stack_dir / "Pulumi.staging.yaml").write_text(text)
    assert plan.main(["staging"]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def _exit_code(main: Callable[[], int]) -> object:
    """What the command would exit with: what its main returns, or the code it exits with."""
    try:
        return main()
    except SystemExit as exit_:
        return exit_.code


# The other tools that read stack files; `make plan` is above.
READERS = [
    pytest.param(lambda: policycheck.main(["staging"]), id="policycheck"),
    pytest.param(lambda: checkov.main(["--convert-only", "staging"]), id="checkov"),
    pytest.param(lambda: configdoc.main([]), id="configdoc"),
]


@pytest.mark.parametrize("main", READERS)
@pytest.mark.parametrize(("text", "expected"), REFUSED_FILES)
def test_every_tool_exits_2_naming_the_mistake(
    stack_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    main: Callable[[], int],
    text: str,
    expected: str,
) -> None:
    # Should the configuration reference get past the file, it writes here, not into docs/.
    monkeypatch.setattr(configdoc, "OUTPUT", stack_dir / "configuration.md")
    (stack_dir / "Pulumi.staging.yaml").write_text(text)
    assert _exit_code(main) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# Environment and region


def test_a_stack_file_cannot_claim_another_environment() -> None:
    # Pulumi.prod.yaml saying staging: refused, and prod's own rules still apply.
    problems = parse_problems(
        "prod", environment="staging", database=committed("prod", "database", multiAz=False)
    )
    assert_problem(problems, "webstack:environment", "prod", "'prod'", "got 'staging'")
    assert_problem(problems, "webstack:database.multiAz", "prod", "must be true in prod")


def test_a_staging_file_cannot_claim_prod() -> None:
    problems = parse_problems("staging", environment="prod")
    assert_problem(problems, "webstack:environment", "staging", "'staging'", "got 'prod'")


def test_the_environment_defaults_to_the_stack_name() -> None:
    config = parse("prod", environment=None)
    assert (config.environment, config.name_prefix) == ("prod", "webstack-prod")
    assert config.tags["environment"] == "prod"


def test_a_stack_named_after_no_environment_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_stack_config("qa", stack_values("staging", environment=None), "us-east-1", six_zones)
    assert_problem(info.value.problems, "webstack:environment", "qa", "staging, prod", "'qa'")


def never_called(region: str) -> Sequence[str]:
    raise AssertionError(f"zones of an unknown region {region!r} were looked up")


@pytest.mark.parametrize(
    ("region", "words"),
    [("mars-1", ("'mars-1'",)), ("us-east1", ("'us-east1'", "did you mean us-east-1?"))],
)
def test_an_unknown_region_is_refused_before_any_lookup(
    region: str, words: tuple[str, ...]
) -> None:
    problems = parse_problems("prod", overrides={"aws:region": region}, region_azs=never_called)
    assert_problem(problems, "aws:region", "prod", "not an AWS region", *words)


def test_an_unknown_region_registers_nothing() -> None:
    # It used to crash in the mock cloud after 176 resources.
    problems = problems_of("staging", overrides={"aws:region": "mars-1"})
    assert_problem(problems, "aws:region", "staging", "'mars-1'")


def test_the_region_table() -> None:
    assert {"us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "us-gov-west-1"} <= AWS_REGIONS
    assert "mars-1" not in AWS_REGIONS
    for stack in ("staging", "prod"):
        assert parse(stack).region in AWS_REGIONS


# ---------------------------------------------------------------------------------------------
# The API's environment and capacity


@pytest.mark.parametrize(
    "name",
    [
        "CORS_ORIGIN",
        "CORS_ALLOWED_ORIGINS",
        "allowed_origins",
        "Cors_Enabled",
        "ORIGINS",
        "FRONTEND_ORIGIN_URL",
        "ALLOWED_ORIGINS",
    ],
)
def test_cors_origins_cannot_come_through_the_api_environment(name: str) -> None:
    # Whatever the value: '*' is the worst case, an https origin would still be a second list.
    environment = {"FEATURE_FLAGS_SOURCE": "config", name: "*"}
    problems = parse_problems("prod", api=committed("prod", "api", environment=environment))
    assert_problem(problems, f"webstack:api.environment.{name}", "prod", "edge.allowedOrigins")
    assert not any("FEATURE_FLAGS_SOURCE" in p for p in problems)


def test_secret_looking_names_are_still_refused_as_secrets() -> None:
    name = "CORS_SIGNING_SECRET"
    environment = {name: secrets.token_urlsafe(8)}
    problems = parse_problems("prod", api=committed("prod", "api", environment=environment))
    assert_problem(problems, f"webstack:api.environment.{name}", "prod", "valueFrom")


def test_prod_runs_at_least_two_api_tasks() -> None:
    problems = parse_problems("prod", api=committed("prod", "api", minCapacity=1))
    assert_problem(problems, "webstack:api.minCapacity", "prod", ">= 2 in prod", "got 1")


def test_staging_may_run_one_api_task() -> None:
    assert parse("staging", api=committed("staging", "api", minCapacity=1)).api.min_capacity == 1
