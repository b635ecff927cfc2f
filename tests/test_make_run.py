"""`make run` as on a fresh clone: no DATABASE_URL, no REDIS_URL. It starts the embedded
PostgreSQL under VAR_DIR, migrates, loads the demo and serves it, runs the status worker and
beat beside the web server (their heartbeat shows on /healthz), and stops the server when it
exits; a second run starts the same cluster again, with its data."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.fakes.servers import unused_port_url

DEMO_TILES = 189


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_make_run(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_make_run(process: subprocess.Popen, log: Path) -> str:
    """What a Ctrl-C in the terminal does: the signal to the whole process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    return log.read_text(errors="replace")


def poll(url: str, process: subprocess.Popen, log: Path, until, deadline_s: float) -> bytes:
    """GET ``url`` until ``until(body)`` holds (the server migrates and loads the demo first;
    the worker's first task comes a beat interval later)."""
    deadline = time.monotonic() + deadline_s
    while True:
        if process.poll() is not None:
            pytest.fail(f"make run exited early with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read()
            if until(body):
                return body
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer as expected in {deadline_s} s:\n{log.read_text()}")
        time.sleep(0.25)


def demo_served(body: bytes) -> bool:
    return len(re.findall(r'<li class="tile', body.decode())) == DEMO_TILES


def worker_alive(body: bytes) -> bool:
    return (json.loads(body).get("worker") or {}).get("last") is not None


@pytest.fixture
def var_dir() -> Iterator[Path]:
    """A VAR_DIR outside pytest's temporary root: under root the server runs as another
    account that must reach its data directory, and every pytest session that starts
    closes that root (/tmp/pytest-of-<user>, mode 0700) again."""
    path = Path(tempfile.mkdtemp(prefix="landscape-run-"))
    yield path / "var"
    shutil.rmtree(path, ignore_errors=True)


def test_make_run_serves_the_demo_and_runs_the_job_on_embedded_postgresql(
    tmp_path, var_dir, fake_github
):
    # No DATABASE_URL, no REDIS_URL, no DEBUG: exactly what a fresh clone has. VAR_DIR keeps
    # this run's cluster and broker away from the developer's own var/.
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "CACHE_URL",
            "CELERY_BROKER_URL",
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
        }
        and not k.startswith(("DJANGO_", "PYTEST_"))
    }
    var = var_dir
    env |= {
        "VAR_DIR": str(var),
        # The worker's refreshes go to the fake GitHub; nothing else may leave the machine.
        "GITHUB_API_URL": fake_github.api_url,
        "GITHUB_GRAPHQL_URL": fake_github.graphql_url,
        "GITHUB_TOKEN": "",
        "GITLAB_API_URL": unused_port_url(),
        "PYPI_URL": unused_port_url(),
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        # Beat's refresh round writes the worker's heartbeat; at once rather than in 15 min.
        "BEAT_REFRESH_SECONDS": "2",
    }
    pgdata = var / "postgres"

    port, log = free_port(), tmp_path / "first.log"
    process = start_make_run(env, port, log)
    try:
        body = poll(f"http://127.0.0.1:{port}/?show_archived=1", process, log, demo_served, 300)
        health = json.loads(
            poll(f"http://127.0.0.1:{port}/healthz", process, log, worker_alive, 120)
        )
    finally:
        output = stop_make_run(process, log)
    for name in ("PyTorch Lightning", "NumPyro", "PyTorchXLA", "Clear ML"):
        assert name in body.decode()
    assert health["status"] == "ok", health
    assert health["checks"]["database"]["ok"] and health["checks"]["cache"]["ok"]
    assert "redis" not in health["checks"]
    assert health["worker"]["stale"] is False
    assert "created the cluster and started it" in output
    assert (pgdata / "PG_VERSION").is_file()
    assert list(var.glob("*.sqlite3")) == []
    # The trap stopped the server: PostgreSQL removes its pid file on a clean shutdown.
    assert "embedded PostgreSQL" in output and "stopped in" in output
    assert not (pgdata / "postmaster.pid").exists(), output

    port, log = free_port(), tmp_path / "second.log"
    process = start_make_run(env, port, log)
    try:
        poll(f"http://127.0.0.1:{port}/?show_archived=1", process, log, demo_served, 300)
    finally:
        output = stop_make_run(process, log)
    assert "started the cluster in" in output
    assert "created the cluster" not in output
    assert not (pgdata / "postmaster.pid").exists(), output
