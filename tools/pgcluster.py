"""A throwaway PostgreSQL server for the integration tests and the migration benchmark.

`throwaway_server()` yields a `Server`: the one `DATABASE_URL` names when it is set (it must
allow CREATE DATABASE and CREATE ROLE), otherwise a cluster in a temp dir (in memory when
/dev/shm is writable) started with the newest installed `/usr/lib/postgresql/*/bin`, as the
`postgres` user when running as root (initdb refuses root), on a unix socket in the temp dir
(trust) plus a free localhost port (SCRAM passwords; TLS with a certificate for the name
`localhost` signed by a throwaway CA, so clients can use `sslmode=verify-full` as against RDS).
Like RDS it preloads pg_stat_statements. The cluster is stopped and removed on exit. Each caller
gets its own cluster (each pytest-xdist worker starts one); a port another process took in the
meantime is retried with a new one.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

PORT_ATTEMPTS = 5


@dataclass(frozen=True)
class Server:
    """Connection parameters of the session's server."""

    admin: dict[str, str]
    """A superuser (or CREATEDB/CREATEROLE) connection to a maintenance database."""
    tcp: dict[str, str]
    """host/port where password authentication applies."""
    ca_file: Path | None = None
    """The CA that signed the server's certificate (None: a DATABASE_URL server, unknown)."""
    shared: bool = False
    """Other processes may use it at once (DATABASE_URL): cluster-wide state such as roles is
    not this caller's alone."""

    def url(self, dbname: str, user: str | None = None, password: str | None = None) -> str:
        params = {**self.admin, "dbname": dbname}
        if user is not None:
            params.update(self.tcp, user=user, password=password or "")
        return make_conninfo(**params)


def _newest_bindir() -> Path:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise RuntimeError("no PostgreSQL binaries: run tools/install-system-deps (postgresql)")
    newest = max(found, key=lambda p: int(Path(p).parts[-3].split(".")[0]))
    return Path(newest).parent


def _scratch_dir() -> str | None:
    # A cluster in memory (when /dev/shm is writable) makes CREATE DATABASE several times faster.
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A throwaway self-signed CA in `directory`: (certificate, key) as PEM files."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2"),
            *("-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _server_certificate(directory: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A server certificate for `localhost` signed by `ca`: (certificate, key)."""
    cert, key, csr = directory / "server.crt", directory / "server.key", directory / "server.csr"
    subprocess.run(
        [
            *("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost"),
        ],
        check=True,
        capture_output=True,
    )
    extensions = directory / "server.ext"
    extensions.write_text("subjectAltName=DNS:localhost\n")
    subprocess.run(
        [
            *("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1])),
            *("-CAcreateserial", "-days", "2", "-out", str(cert), "-extfile", str(extensions)),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)  # the server refuses a key others can read
    return cert, key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(pg_ctl: list[str], settings: Mapping[str, object], log: Path) -> int:
    """Start the cluster on a free localhost port and return it. The port is free when chosen
    but may be taken before the server binds it (other clusters start on this machine at the
    same time), so a start that fails on exactly that is retried on another port."""
    for _ in range(PORT_ATTEMPTS):
        port = _free_port()
        options = " ".join(f"-c {k}={v}" for k, v in {**settings, "port": port}.items())
        logged = log.stat().st_size if log.exists() else 0
        start = [*pg_ctl, "-w", "-t", "60", "-o", options, "start"]
        if subprocess.run(start, capture_output=True, check=False).returncode == 0:
            return port
        with log.open(errors="replace") as text:
            text.seek(logged)
            failure = text.read()
        if "Address already in use" not in failure:
            raise RuntimeError(f"PostgreSQL did not start:\n{failure.strip()}")
    raise RuntimeError(f"PostgreSQL found no free port in {PORT_ATTEMPTS} attempts")


@contextmanager
def throwaway_server() -> Iterator[Server]:
    if os.environ.get("DATABASE_URL"):
        params = {k: str(v) for k, v in conninfo_to_dict(os.environ["DATABASE_URL"]).items()}
        tcp: dict[str, str] = {k: params[k] for k in ("host", "port") if k in params}
        yield Server(admin=params, tcp=tcp, shared=True)
        return
    bindir = _newest_bindir()
    root = Path(tempfile.mkdtemp(prefix="webstack-pg-", dir=_scratch_dir()))
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    tls = root / "tls"
    tls.mkdir()
    ca = make_ca(tls, "webstack-test-ca")
    server_cert, server_key = _server_certificate(tls, ca)
    if as_user:
        for path in (tls, *tls.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    subprocess.run(
        [
            *(*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8"),
            *("--locale=C", "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256"),
        ],
        check=True,
        capture_output=True,
    )
    settings = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": root,
        "shared_preload_libraries": "pg_stat_statements",
        "max_connections": 100,
        "ssl": "on",
        "ssl_cert_file": server_cert,
        "ssl_key_file": server_key,
        # durability is pointless for a throwaway cluster; speed is not
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    log = root / "log"
    pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log)]
    port = _start(pg_ctl, settings, log)
    try:
        yield Server(
            admin={"host": str(root), "port": str(port), "user": "postgres", "dbname": "postgres"},
            tcp={"host": "127.0.0.1", "port": str(port)},
            ca_file=ca[0],
        )
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
