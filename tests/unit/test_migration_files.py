"""Migration files: naming, headers, statement splitting, the repository's own set, and the
API login role's settings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from pathlib import Path

import pytest

from migrations import __main__ as cli
from migrations import runner, statements
from migrations.app_login import AppRole, scram_verifier
from tests.helpers import write_files


def test_the_repository_migrations_are_well_formed() -> None:
    found = runner.discover()
    assert [m.id for m in found] == list(range(1, len(found) + 1))
    assert [s.path.name for s in runner.repeatables()] == ["app_login.sql"]
    scripts = [m.forward for m in found] + runner.repeatables()
    assert not any(re.search(r"\bPASSWORD\s+'", s.sql) for s in scripts), (
        "passwords come from the DATABASE_URL secret at run time, never from a file"
    )


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"1_short.sql": "SELECT 1;"}, "named NNNN_lower_snake.sql"),
        ({"0001_Caps.sql": "SELECT 1;"}, "named NNNN_lower_snake.sql"),
        ({"0001_a.sql": "", "0001_b.sql": ""}, "0001 is taken"),
        ({"0002_orphan.down.sql": ""}, "no forward migration"),
        ({"0001_a.sql": "-- transactional: maybe\nSELECT 1;"}, "must be true or false"),
    ],
)
def test_malformed_directories_are_rejected(
    tmp_path: Path, files: dict[str, str], words: str
) -> None:
    with pytest.raises(runner.BadMigrationsError, match=words):
        runner.discover(write_files(tmp_path, files))


def test_the_transactional_header_only_counts_in_the_leading_comments(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "0001_a.sql": "-- adds an index\n-- transactional: false\n"
            "CREATE INDEX CONCURRENTLY i ON t (c);",
            "0002_b.sql": "SELECT 1;\n-- transactional: false\n",
        },
    )
    first, second = runner.discover(tmp_path)
    assert first.forward.transactional is False
    assert second.forward.transactional is True


def heads(text: str) -> list[str]:
    """Each statement's text, whitespace collapsed."""
    return [" ".join(s.text.split()) for s in statements.split(text)]


def test_split_respects_quotes_dollar_quotes_and_comments() -> None:
    text = (
        "-- header; with a semicolon\n"
        "INSERT INTO t VALUES ('a;b', 'it''s; fine');\n"
        "/* block; comment */\n"
        "DO $body$ BEGIN PERFORM 1; END $body$;\n"
        'CREATE INDEX "odd;name" ON t (c);\n'
        "  ;\n"
        "SELECT $$x;y$$"
    )
    assert heads(text) == [
        "INSERT INTO t VALUES ('a;b', 'it''s; fine');",
        "DO $body$ BEGIN PERFORM 1; END $body$;",
        'CREATE INDEX "odd;name" ON t (c);',
        "SELECT $$x;y$$",
    ]


def test_an_escape_string_keeps_its_escaped_quote() -> None:
    # The hand-written splitter this replaced cut this one in two at the `;` inside the string.
    assert heads("SELECT E'it\\'s; here';\nSELECT 2;") == ["SELECT E'it\\'s; here';", "SELECT 2;"]


def test_a_begin_atomic_body_is_one_statement() -> None:
    # The hand-written splitter made four statements of the function.
    text = (
        "CREATE FUNCTION touch(n int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n"
        "  UPDATE counters SET hits = hits + n;\n"
        "  SELECT CASE WHEN n > 0 THEN n ELSE 0 END;\n"
        "END;\n"
        "CREATE INDEX CONCURRENTLY counters_hits ON counters (hits);\n"
    )
    assert heads(text) == [
        "CREATE FUNCTION touch(n int) RETURNS int LANGUAGE sql BEGIN ATOMIC "
        "UPDATE counters SET hits = hits + n; SELECT CASE WHEN n > 0 THEN n ELSE 0 END; END;",
        "CREATE INDEX CONCURRENTLY counters_hits ON counters (hits);",
    ]


def test_postgresql_lexical_rules_on_top_of_sqlparse() -> None:
    # Plain strings take no backslash escapes (standard_conforming_strings): `'\'` is closed.
    assert heads("SELECT 'a' LIKE 'x\\_' ESCAPE '\\';\nSELECT 'b';") == [
        "SELECT 'a' LIKE 'x\\_' ESCAPE '\\';",
        "SELECT 'b';",
    ]
    # `#` is PostgreSQL's XOR (and starts jsonb operators), not a comment
    assert heads("SELECT 5 # 3;\nSELECT '{}'::jsonb #> '{a}';") == [
        "SELECT 5 # 3;",
        "SELECT '{}'::jsonb #> '{a}';",
    ]


def test_a_nested_block_comment_is_refused_with_its_place(tmp_path: Path) -> None:
    files = {"0001_a.sql": "SELECT 1;\n/* outer /* inner; */ still a comment; */\nSELECT 2;\n"}
    with pytest.raises(runner.BadMigrationsError, match=r"0001_a\.sql:2:1: a block comment"):
        runner.discover(write_files(tmp_path, files))


def test_statements_know_their_place_in_the_file() -> None:
    text = "-- transactional: false\n\nSELECT 1;  SELECT\n  2;\n\n   CREATE INDEX i ON t (c);"
    found = statements.split(text)
    assert [(s.number, s.line, s.column) for s in found] == [(1, 3, 1), (2, 3, 12), (3, 6, 4)]
    assert all(text[s.offset : s.offset + len(s.text)] == s.text for s in found)
    assert found[1].describe() == "statement 2 (line 3: SELECT 2;)"


def test_scram_verifier_is_what_postgresql_computes() -> None:
    verifier = scram_verifier("correct horse")
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored, server = (base64.b64decode(k) for k in keys.split(":"))
    salted = hashlib.pbkdf2_hmac(
        "sha256", b"correct horse", base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    assert method == "SCRAM-SHA-256"
    assert stored == hashlib.sha256(client_key).digest()
    assert server == hmac.new(salted, b"Server Key", "sha256").digest()
    assert scram_verifier("correct horse") != verifier, "a fresh salt every time"


def test_options_reject_malformed_intervals() -> None:
    with pytest.raises(runner.UsageError, match="lock_timeout"):
        runner.Options(lock_timeout="five seconds")
    with pytest.raises(runner.UsageError, match="app_statement_timeout"):
        AppRole(statement_timeout="thirty")
    with pytest.raises(runner.UsageError, match="app_connection_limit"):
        AppRole(connection_limit=0)


def test_the_readme_explains_every_exit_code() -> None:
    readme = (runner.MIGRATIONS_DIR / "README.md").read_text()
    documented = {int(n) for n in re.findall(r"^\| (\d+) \| .+ \|$", readme, re.MULTILINE)}
    assert documented == {int(code) for code in runner.ExitCode}


def _long_options(capsys: pytest.CaptureFixture[str], *command: str) -> set[str]:
    """The `--options` a command's `--help` lists."""
    with pytest.raises(SystemExit):
        cli.main([*command, "--help"])
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", capsys.readouterr().out))


def test_the_readme_documents_every_option_of_up(capsys: pytest.CaptureFixture[str]) -> None:
    # What `up` takes beyond the connection and timeout options every command shares.
    own = _long_options(capsys, "up") - _long_options(capsys, "status")
    assert {"--resume-from", "--drop-invalid-indexes", "--dry-run"} <= own
    readme = (runner.MIGRATIONS_DIR / "README.md").read_text()
    assert sorted(option for option in own if option not in readme) == []


def test_the_readme_shows_how_to_continue_a_file_that_stopped_halfway() -> None:
    readme = (runner.MIGRATIONS_DIR / "README.md").read_text()
    halfway = readme.split("## When a file stops halfway", 1)[1].split("\n## ", 1)[0]
    assert "python -m migrations up --resume-from N" in halfway
    assert "--drop-invalid-indexes" in halfway
    # The migration Lambda's event keys for the same two options.
    assert '"resumeFrom": 3' in halfway and '"dropInvalidIndexes": true' in halfway
