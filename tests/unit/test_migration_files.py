"""Migration files: naming, headers, statement splitting and the repository's own set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from pathlib import Path

import pytest

from migrations import runner
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


def test_split_statements_respects_quotes_dollar_quotes_and_comments() -> None:
    text = (
        "-- header; with a semicolon\n"
        "INSERT INTO t VALUES ('a;b', 'it''s; fine');\n"
        "/* block; comment */\n"
        "DO $body$ BEGIN PERFORM 1; END $body$;\n"
        'CREATE INDEX "odd;name" ON t (c);\n'
        "  ;\n"
        "SELECT $$x;y$$"
    )
    statements = runner.split_statements(text)
    assert [s.split()[-1] for _, s in statements] == ["fine');", "$body$;", "(c);", "$$x;y$$"]
    assert all(text[offset : offset + len(s)] == s for offset, s in statements)
    assert "PERFORM 1; END" in statements[1][1]


def test_scram_verifier_is_what_postgresql_computes() -> None:
    verifier = runner.scram_verifier("correct horse")
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
    assert runner.scram_verifier("correct horse") != verifier, "a fresh salt every time"


def test_options_reject_malformed_intervals() -> None:
    with pytest.raises(runner.UsageError, match="lock_timeout"):
        runner.Options(lock_timeout="five seconds")
