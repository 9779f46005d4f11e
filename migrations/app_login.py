"""The API's login role, which `repeatable/app_login.sql` provisions after every `up`.

The runner is generic: it runs the repeatable scripts in a session carrying the settings it is
handed. This module turns the API's DATABASE_URL (its user and password) and the deploy's limits
for that role into those settings. The password travels as a SCRAM-SHA-256 verifier, so the
server never sees it; the runner omits the server's error context of these scripts, because it
would quote the verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field

from migrations.errors import BadUrlError, UsageError
from migrations.execute import check_interval
from migrations.runner import parse_url


@dataclass(frozen=True)
class AppLogin:
    """The API's login, as the DATABASE_URL secret names it."""

    role: str
    password: str = field(repr=False)

    @classmethod
    def from_url(cls, url: str) -> AppLogin:
        params = parse_url(url, what="the application database URL")
        if not params.get("user") or not params.get("password"):
            raise BadUrlError("the application database URL must name a user and a password")
        return cls(params["user"], params["password"])


@dataclass(frozen=True, kw_only=True)
class AppRole:
    """The login role and the limits the deploy gives it."""

    login: AppLogin | None = None
    """None: the repeatable script refuses clearly (it needs a role to provision)."""
    connection_limit: int = 200
    """CONNECTION LIMIT: what every API and worker pool may hold at once."""
    statement_timeout: str = "30s"
    """statement_timeout of the role's sessions."""
    idle_in_transaction_timeout: str = "60s"
    """idle_in_transaction_session_timeout of the role's sessions."""

    def __post_init__(self) -> None:
        check_interval("app_statement_timeout", self.statement_timeout)
        check_interval("app_idle_in_transaction_timeout", self.idle_in_transaction_timeout)
        if self.connection_limit < 1:
            raise UsageError(
                f"app_connection_limit must be at least 1, got {self.connection_limit}"
            )

    def session_settings(self) -> dict[str, str]:
        """What repeatable/app_login.sql reads with current_setting('webstack.…')."""
        settings = {
            "webstack.app_connection_limit": str(self.connection_limit),
            "webstack.app_statement_timeout": self.statement_timeout,
            "webstack.app_idle_in_transaction_timeout": self.idle_in_transaction_timeout,
        }
        if self.login is not None:
            settings["webstack.app_role"] = self.login.role
            settings["webstack.app_password"] = scram_verifier(self.login.password)
        return settings


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """A SCRAM-SHA-256 verifier (what PostgreSQL stores), so the password never reaches the server.

    PostgreSQL SASLprep-normalizes non-ASCII passwords; generated passwords are ASCII.
    """
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    stored_key = hashlib.sha256(client_key).digest()
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
