"""The migrations directory: numbered forward files, their reverse plans, repeatable scripts.

`NNNN_name.sql` applies in order; `NNNN_name.down.sql` is its explicit reverse plan;
`repeatable/*.sql` are idempotent scripts rerun after every `up`. A `-- transactional: false`
line in a file's leading comments runs it outside a transaction, statement by statement. Every
file is split into statements when it is loaded, so a file the splitter cannot cut is an error
before anything connects.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from migrations.errors import BadMigrationsError
from migrations.statements import SplitError, Statement, split

MIGRATIONS_DIR = Path(__file__).resolve().parent
_FILE = re.compile(r"^(?P<id>\d{4})_(?P<slug>[a-z0-9_]+)(?P<down>\.down)?\.sql$")
_HEADER = re.compile(r"^--\s*transactional:\s*(?P<value>\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Script:
    """One SQL file."""

    path: Path
    sql: str
    transactional: bool = True
    statements: tuple[Statement, ...] = field(default=(), repr=False)

    @classmethod
    def load(cls, path: Path) -> Script:
        text = path.read_text(encoding="utf-8")
        transactional = True
        for line in text.splitlines():
            if line.strip() and not line.startswith("--"):
                break  # headers live in the leading comment block only
            header = _HEADER.match(line)
            if header:
                value = header["value"].lower()
                if value not in ("true", "false"):
                    raise BadMigrationsError(
                        f"{path.name}: `-- transactional:` must be true or false, got {value!r}"
                    )
                transactional = value == "true"
        try:
            statements = split(text)
        except SplitError as e:
            raise BadMigrationsError(f"{path.name}:{e}") from None
        return cls(path, text, transactional, statements)


@dataclass(frozen=True)
class Migration:
    """A numbered forward file and its optional reverse plan."""

    id: int
    name: str
    forward: Script
    down: Script | None = None

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.forward.sql.encode("utf-8")).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The numbered migrations of `directory`, in order; malformed names are errors."""
    forward: dict[int, Path] = {}
    down: dict[int, Path] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise BadMigrationsError(
                f"{path.name}: migration files are named NNNN_lower_snake.sql "
                "(or NNNN_lower_snake.down.sql)"
            )
        target = down if match["down"] else forward
        number = int(match["id"])
        if number in target:
            raise BadMigrationsError(
                f"{path.name}: number {number:04d} is taken by {target[number].name}"
            )
        target[number] = path
    for number, path in down.items():
        if number not in forward or forward[number].stem != path.name.removesuffix(".down.sql"):
            raise BadMigrationsError(f"{path.name}: no forward migration of that name")
    return [
        Migration(
            id=number,
            name=path.stem,
            forward=Script.load(path),
            down=Script.load(down[number]) if number in down else None,
        )
        for number, path in sorted(forward.items())
    ]


def repeatables(directory: Path = MIGRATIONS_DIR) -> list[Script]:
    """`repeatable/*.sql`: idempotent scripts rerun, in name order, after every `up`."""
    return [Script.load(p) for p in sorted((directory / "repeatable").glob("*.sql"))]
