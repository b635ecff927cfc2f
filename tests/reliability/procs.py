"""Real processes for the fault and load tests: throwaway Redis and PostgreSQL servers that a
test may stop, kill and restart (never the shared ones on 6379 and 5432), gunicorn, Celery
workers and beat, and a way to wait on a condition with a deadline instead of sleeping."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SECRET_KEY = "reliability-tests-secret-key-0123456789abcdefghijklmnop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    condition: Callable[[], object],
    *,
    deadline_s: float,
    what: str,
    logs: Callable[[], str] = lambda: "",
    processes: tuple[subprocess.Popen, ...] = (),
    poll_s: float = 0.2,
):
    """Poll ``condition`` until it is truthy (and return its value), or fail with the logs."""
    deadline = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"a process exited early while waiting for {what}:\n{logs()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {deadline_s} s waiting for {what}:\n{logs()}")
        time.sleep(poll_s)


def stop_process(process: subprocess.Popen | None, *, sig: int = signal.SIGTERM) -> None:
    """Stop a process started with ``start_new_session`` and everything it started."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


# --- Redis ------------------------------------------------------------------------------------


class ThrowawayRedis:
    """A redis-server of our own on a free port, keeping nothing on disk."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rel-redis-"))
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> ThrowawayRedis:
        if not shutil.which("redis-server"):
            pytest.skip("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.answers, deadline_s=20, what=f"redis on port {self.port}")
        return self

    def stop(self) -> None:
        """Stop it for good: the port refuses connections until ``start``."""
        stop_process(self.process, sig=signal.SIGKILL)
        self.process = None

    def answers(self) -> bool:
        try:
            return self.client().ping()
        except Exception:
            return False

    def client(self, db: int = 0):
        import redis

        return redis.Redis.from_url(self.url(db), socket_timeout=2, socket_connect_timeout=2)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- PostgreSQL -------------------------------------------------------------------------------


class ThrowawayPostgres:
    """A PostgreSQL 15 cluster of our own (initdb in a temporary folder, trust auth), run as
    the ``postgres`` OS user when we are root, since initdb refuses root."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"PostgreSQL binaries not found in {PG_BIN}")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rel-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def url(self, name: str = "landscape") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def init(self) -> ThrowawayPostgres:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-N")
        self.start()
        self._run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres",
                  "landscape")  # fmt: skip
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop", check=False)

    def answers(self) -> bool:
        result = subprocess.run(
            [PG_BIN / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
        )
        return result.returncode == 0

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- The application's processes ----------------------------------------------------------------


def app_env(**overrides: str) -> dict[str, str]:
    """The environment of a production-like process (DEBUG off, JSON logs) on loopback."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST", "CELERY_", "GITHUB_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "landscape.settings",
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_FORMAT": "json",
            "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
            "API_THROTTLE_ANON": "1000000/minute",
            "API_THROTTLE_USER": "1000000/minute",
            "API_THROTTLE_WRITE": "1000000/minute",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


class AppProcess:
    """One gunicorn, celery worker or celery beat, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> AppProcess:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            self.args,
            cwd=REPO_ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.process, sig=sig)

    def kill(self) -> None:
        """SIGKILL to the whole process group: the worker and its pool, with no goodbye."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def text(self, tail: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-tail:] if self.log.exists() else ""

    def children(self) -> set[int]:
        """Process ids of the direct children (gunicorn's workers, the pool's processes)."""
        assert self.process is not None
        result = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
            capture_output=True,
            text=True,
            check=False,
        )
        return {int(p) for p in result.stdout.split()}


def gunicorn(env: dict[str, str], log_dir: Path, *, workers: int = 3) -> tuple[AppProcess, str]:
    port = free_port()
    process = AppProcess(
        "gunicorn",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "landscape.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--backlog",
            "2048",
        ],
        env,
        log_dir,
    ).start()
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            # Any answer counts: /healthz may say 503 by design in some tests.
            return get(base + "/healthz")[0] in (200, 503)
        except OSError:
            return False

    wait_until(up, deadline_s=60, what="gunicorn", logs=process.text, processes=(process.process,))
    return process, base


def celery(
    kind: str, env: dict[str, str], log_dir: Path, *extra: str, name: str = ""
) -> AppProcess:
    args = [sys.executable, "-m", "celery", "-A", "landscape", kind, "--loglevel=INFO", *extra]
    if kind == "worker":
        args += ["-Q", "celery,refresh,links", "--concurrency=1", "-n", f"{name or 'w'}@%h"]
    return AppProcess(f"{kind}-{name}" if name else kind, args, env, log_dir).start()


def get(url: str, *, timeout: float = 10, data: bytes | None = None, headers=None):
    """(status, body) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def collectstatic(target: Path) -> Path:
    """DEBUG off serves hashed static names: collect them once for the session."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=REPO_ROOT,
        env=app_env(STATIC_ROOT=str(target), REDIS_URL="", DATABASE_URL="sqlite:///:memory:"),
        check=True,
        capture_output=True,
    )
    return target


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        pytest.fail(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout
