"""The throwaway cluster: a port taken between choosing and binding it is retried."""

from __future__ import annotations

import os
import socket

import psycopg
import pytest

from tools import pgcluster


@pytest.mark.skipif("DATABASE_URL" in os.environ, reason="DATABASE_URL: no throwaway cluster")
def test_a_port_taken_before_the_server_binds_it_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy, free = taken.getsockname()[1], pgcluster._free_port()
        ports = iter([busy, free])
        monkeypatch.setattr(pgcluster, "_free_port", lambda: next(ports))
        with pgcluster.throwaway_server() as server:
            assert server.tcp["port"] == str(free)
            with psycopg.connect(server.url("postgres")) as conn:
                assert conn.execute("SHOW port").fetchone() == (str(free),)
