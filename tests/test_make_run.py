"""`make run`'s path on the embedded default: SQLite, no environment, the demo landscape on /."""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, deadline_s: float) -> bytes:
    """Poll until the server answers (it has to migrate and load the demo data first)."""
    deadline = time.monotonic() + deadline_s
    while True:
        if process.poll() is not None:
            pytest.fail(f"make run exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def test_make_run_serves_the_demo_landscape_on_sqlite(tmp_path):
    port = free_port()
    # No DATABASE_URL, no REDIS_URL, no DEBUG: exactly what a fresh clone has. VAR_DIR only
    # keeps this run's SQLite file away from the developer's own var/.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
        and not k.startswith(("DJANGO_", "PYTEST_"))
    }
    env["VAR_DIR"] = str(tmp_path / "var")
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        body = wait_for_http(
            f"http://127.0.0.1:{port}/?show_archived=1", process, deadline_s=180
        ).decode()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    assert (tmp_path / "var" / "landscape.sqlite3").is_file(), output
    assert len(re.findall(r'<li class="tile', body)) == 189
    for name in ("PyTorch Lightning", "NumPyro", "PyTorchXLA", "Clear ML"):
        assert name in body
