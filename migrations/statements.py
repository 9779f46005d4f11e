"""Split a SQL file into its statements, each knowing where it starts in the file.

The runner executes every file one statement at a time, so a failure names the statement that
failed (its number, line and first words) and a non-transactional file's progress is known
statement by statement. The splitting is sqlparse's: its statement splitter knows quotes, dollar
quotes, comments and `BEGIN ATOMIC … END` function bodies. Its lexer speaks generic SQL, so
three PostgreSQL rules are laid on top (sqlparse's documented way: a lexer with extra rules,
tried before its own):

- a plain '…' string has no backslash escapes (standard_conforming_strings, the default since
  PostgreSQL 9.1): `'C:\\'` ends at its second quote; only E'…' strings take `\\'`;
- `#` is an operator (bitwise XOR, jsonb `#>`), not the start of a MySQL comment;
- block comments nest in PostgreSQL, while sqlparse ends one at the first `*/`: a block comment
  that holds `/*` is refused rather than split differently from the server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlparse import tokens
from sqlparse.engine import StatementSplitter
from sqlparse.keywords import SQL_REGEX
from sqlparse.lexer import Lexer

_POSTGRES_RULES = [
    (r"[Ee]'(?:''|\\.|[^'\\])*'", tokens.String.Single),
    (r"'(?:''|[^'])*'", tokens.String.Single),
    (r"#", tokens.Operator),
]
_HEAD_CHARS = 60


def _postgres_lexer() -> Lexer:
    lexer = Lexer()
    lexer.default_initialization()
    lexer.set_SQL_REGEX([*_POSTGRES_RULES, *SQL_REGEX])
    return lexer


_LEXER = _postgres_lexer()


class SplitError(ValueError):
    """A file the splitter cannot cut as PostgreSQL would; the message starts `line:column:`."""


def locate(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of character `offset` in `text`."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


@dataclass(frozen=True)
class Statement:
    """One statement of a file: its text from its first to its last token (comments around it
    and the blank lines between statements are not part of it)."""

    number: int
    """1-based position among the file's statements."""
    offset: int
    """Where `text` starts in the file (a character index)."""
    text: str
    line: int
    column: int

    @property
    def head(self) -> str:
        """Its first words on one line, for messages."""
        words = " ".join(self.text.split())
        return words if len(words) <= _HEAD_CHARS else words[: _HEAD_CHARS - 1] + "…"

    def describe(self, of: int | None = None) -> str:
        """`statement 3 (line 9: CREATE …)`, or `statement 3 of 5 (…)` given the file's count."""
        total = f" of {of}" if of is not None else ""
        return f"statement {self.number}{total} (line {self.line}: {self.head})"


def split(text: str) -> tuple[Statement, ...]:
    """The statements of `text` in order; empty ones (a lone `;`, only comments) are dropped."""
    found: list[Statement] = []
    offset = 0
    for parsed in StatementSplitter().process(_LEXER.get_tokens(text)):
        position = offset
        code: list[tuple[int, int]] = []
        for token in parsed.tokens:
            if token.ttype in tokens.Comment.Multiline and "/*" in token.value[2:]:
                line, column = locate(text, position)
                raise SplitError(
                    f"{line}:{column}: a block comment inside a block comment; PostgreSQL "
                    "nests them but the statement splitter does not, so remove the inner `/*`"
                )
            if not (token.is_whitespace or token.ttype in tokens.Comment):
                code.append((position, position + len(token.value)))
            position += len(token.value)
        offset = position
        if not code or text[code[0][0] : code[-1][1]] == ";":
            continue
        start, end = code[0][0], code[-1][1]
        line, column = locate(text, start)
        found.append(Statement(len(found) + 1, start, text[start:end], line, column))
    return tuple(found)


def digest(statements: Sequence[Statement]) -> str:
    """sha256 of the statements' texts: what a partly applied file had applied."""
    sha = hashlib.sha256()
    for statement in statements:
        sha.update(statement.text.encode("utf-8"))
        sha.update(b"\0")
    return sha.hexdigest()
