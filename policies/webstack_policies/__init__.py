"""webstack's CrossGuard rules, grouped by concern; `ALL` is what the pack enforces."""

from __future__ import annotations

from . import backups, cloudflare, cors, ingress, safety, secrets, tls

ALL = [
    *tls.POLICIES,
    *cloudflare.POLICIES,
    *cors.POLICIES,
    *secrets.POLICIES,
    *ingress.POLICIES,
    *safety.POLICIES,
    *backups.POLICIES,
]
