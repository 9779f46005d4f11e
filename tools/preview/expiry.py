"""Which preview stacks the scheduled clean-up destroys: those not deployed for too long.

Reads what `pulumi stack ls --json` prints (a list of `{name, lastUpdate, updateInProgress,
...}`). A preview whose last update is more than `max_age_days` old has had no push for that
long: its PR is stale, or its teardown failed. Every push re-deploys a labelled PR's preview,
so an active one is never taken; a destroyed one comes back with the next push. A stack being
updated right now, or never updated, is left alone (its deploy job owns it).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from components.config import is_preview_stack


class ExpiryError(ValueError):
    """`pulumi stack ls --json` output this module cannot read."""


def _stack_name(entry: Any) -> str:
    """The stack's own name: backends list `pr-123`, `org/pr-123` or `org/project/pr-123`."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ExpiryError(f"a stack entry without a name: {entry!r}")
    return str(entry["name"]).rsplit("/", 1)[-1]


def timestamp(text: str) -> datetime:
    """An RFC 3339 instant as the CLI prints it (`2024-05-01T10:00:00.000Z`); ValueError when
    it is not one or has no time zone."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment


def _last_update(entry: dict[str, Any]) -> datetime | None:
    value = entry.get("lastUpdate")
    if not value:
        return None
    try:
        return timestamp(str(value))
    except ValueError as error:
        raise ExpiryError(f"{entry['name']}: lastUpdate is not an instant: {error}") from error


def expired(listing: str, *, max_age_days: float, now: datetime) -> list[str]:
    """The preview stacks (their own names, `pr-<n>`: `pulumi --stack` finds them in the
    project) last updated more than `max_age_days` ago."""
    if max_age_days <= 0:
        raise ExpiryError(f"the maximum age must be a positive number of days, got {max_age_days}")
    try:
        entries = json.loads(listing)
    except ValueError as error:
        raise ExpiryError(f"`pulumi stack ls --json` printed no JSON: {error}") from error
    if not isinstance(entries, list):
        raise ExpiryError("`pulumi stack ls --json` printed no list")
    cutoff = now - timedelta(days=max_age_days)
    stale: list[str] = []
    for entry in entries:
        if not is_preview_stack(_stack_name(entry)) or entry.get("updateInProgress"):
            continue
        updated = _last_update(entry)
        if updated is not None and updated < cutoff:
            stale.append(_stack_name(entry))
    return sorted(stale)
