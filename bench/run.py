"""The load benchmark, end to end: data, gunicorn as in production, wrk, the two baselines,
the import timings and the refresh benchmark; prints the table and writes bench/RESULTS.md.

    .venv/bin/python -m bench.run --entries 100000 --duration 30
    .venv/bin/python -m bench.run --entries 10000 --duration 10 --skip-imports --skip-refresh

Endpoints (each wrk run: 16 connections, 2 threads, --latency):

- ``floor``: bench.urls' bare view, a fixed 10 KB JSON through the same gunicorn,
  middleware and settings; ``nginx``: the same bytes as a file served by nginx.
- uncached (the cache is Django's DummyCache; every run draws from >= 1,000 paths):
  ``list`` the API's project list filtered by category and health, ordered by stars, paged;
  ``search`` the API list searched with ``q``; ``project`` an entry's page; ``/`` the
  landscape page (one path: the whole landscape).
- cached (the product's Redis cache, on a Redis database of its own): ``/`` and the
  filtered list answered from the cache, and conditional GETs of the list answered 304.

Targets (issue 7) are ratios to the floor measured in the same run; a missed target is
reported in the table, never raised: this script measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

PY = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/landscape_bench_web"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"
MIN_PATHS = 1000

# name -> (target ratio to the floor, what it is)
TARGETS = {
    "list": (0.25, "API list, ?category&health&ordering=-stars, paged (uncached)"),
    "search": (0.2, "API list searched with ?q= (uncached)"),
    "project": (0.3, "project page /projects/<slug>/ (uncached)"),
    "landscape": (0.2, "/ (uncached): each subcategory's top tiles, 'N more' links"),
    "landscape-cached": (0.8, "/ answered from the cache"),
    "list-cached": (0.8, "API filtered list answered from the cache"),
    "list-304": (0.8, "API filtered list, If-None-Match: 304 (the warmed paths)"),
}
# Runs without a target: what keyset pages (api/seek.py) change for the end of a long list.
UNTARGETED = {
    "deep-by-number": "API list by name, its last 1,000 pages (the second half at 100,000 "
    "entries) asked by number",
    "deep-by-next": "the same pages as each previous page's next link names them (after=, "
    "api/seek.py)",
}


@dataclass
class Result:
    name: str
    phase: str
    paths: int
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    errors: int = 0
    bytes_per_response: float = 0.0
    floor_rps: float = 0.0
    nginx_rps: float = 0.0
    note: str = ""
    raw: str = field(default="", repr=False)

    @property
    def ratio_floor(self) -> float:
        return self.rps / self.floor_rps if self.floor_rps else 0.0

    @property
    def ratio_nginx(self) -> float:
        return self.rps / self.nginx_rps if self.nginx_rps else 0.0


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- wrk -----------------------------------------------------------------------------------


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _bytes(value: str, unit: str) -> float:
    return float(value) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[unit]


def parse_wrk(output: str) -> dict:
    def number(pattern: str) -> float:
        match = re.search(pattern, output)
        return float(match.group(1)) if match else 0.0

    percentiles = {
        p: _ms(v, u)
        for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    }
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", output)
    rps = number(r"Requests/sec:\s+([\d.]+)")
    return {
        "requests": int(number(r"(\d+) requests in")),
        "rps": rps,
        "p50": percentiles.get("50", 0.0),
        "p99": percentiles.get("99", 0.0),
        "non_2xx_3xx": int(number(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(int(g) for g in socket_errors.groups()) if socket_errors else 0,
        "bytes_per_response": (_bytes(*transfer.groups()) / rps) if transfer and rps else 0.0,
    }


def wrk(base: str, paths_file: Path, *, duration: int, connections: int, threads: int = 2) -> dict:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "lua" / "paths.lua"),
        base,
        "--",
        str(paths_file),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    result = parse_wrk(output)
    result["raw"] = output
    return result


# --- processes -----------------------------------------------------------------------------


class Server:
    def __init__(self, command: list[str], env: dict, log_path: Path, cwd: Path = ROOT) -> None:
        self.log_path = log_path
        self.log = log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_up(self, url: str, *, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exited early, see {self.log_path}")
            with contextlib.suppress(OSError, urllib.error.URLError):
                if get(url)[0] < 500:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"not up after {timeout:.0f} s, see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    headers = {"X-Forwarded-Proto": "https", **(headers or {})}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback http
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def app_env(args, tmp: Path, *, cache: bool) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        BENCH_FLOOR="1",
        BENCH_CACHE="on" if cache else "off",
        DEBUG="0",
        SECRET_KEY=args.secret_key,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=args.database_url,
        CONN_MAX_AGE="600",
        STATIC_ROOT=str(tmp / "static"),
        MEDIA_ROOT=str(tmp / "media"),
        LOG_LEVEL="WARNING",
        # The API's per-address throttle would refuse a load test from one address, and
        # at a rate no run reaches it measures its own history list: off (bench.settings).
        BENCH_THROTTLE="off",
        BENCH_GUNICORN_LOG=str(tmp / "gunicorn-errors.log"),
        PYTHONPATH=str(ROOT),
    )
    if cache:
        env["REDIS_URL"] = args.redis_url
    else:
        env.pop("REDIS_URL", None)
        env["CELERY_TASK_ALWAYS_EAGER"] = "1"
    return env


def start_gunicorn(args, tmp: Path, *, cache: bool) -> tuple[Server, str]:
    port = free_port()
    env = app_env(args, tmp, cache=cache)
    env["BENCH_BIND"] = f"127.0.0.1:{port}"
    if args.workers:
        env["BENCH_WORKERS"] = str(args.workers)
    server = Server(
        [str(Path(PY).parent / "gunicorn"), "-c", str(BENCH / "gunicorn.conf.py")],
        env,
        tmp / f"gunicorn-{'cached' if cache else 'uncached'}.log",
    )
    base = f"http://127.0.0.1:{port}"
    server.wait_until_up(base + "/bench/floor")
    return server, base


def nginx_path() -> str | None:
    """nginx, on the PATH or where Debian puts it (/usr/sbin, not on every user's PATH)."""
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


def start_nginx(tmp: Path, body: bytes) -> tuple[Server | None, str]:
    nginx = nginx_path()
    if nginx is None:
        return None, ""
    root = tmp / "www"
    root.mkdir(exist_ok=True)
    (root / "floor.json").write_bytes(body)
    # nginx's workers drop to an unprivileged user: they must be able to read the file.
    for path in (tmp, root, root / "floor.json"):
        path.chmod(0o755)
    port = free_port()
    conf = (BENCH / "nginx.conf").read_text().format(tmp=tmp, port=port, root=root)
    (tmp / "nginx.conf").write_text(conf)
    server = Server(
        [nginx, "-c", str(tmp / "nginx.conf"), "-p", str(tmp)], dict(os.environ), tmp / "nginx.log"
    )
    base = f"http://127.0.0.1:{port}"
    server.wait_until_up(base + "/floor.json")
    return server, base


# --- paths -----------------------------------------------------------------------------------


def build_paths(args) -> dict[str, list[str]]:
    """>= 1,000 distinct paths per uncached endpoint, drawn from the generated data."""
    from bench import synthetic
    from bench.datagen import setup_django

    setup_django(args.database_url)
    from django.db.models import Count

    from projects.models import Category, Health, Project
    from projects.selectors import project_filter

    rng = random.Random(3)
    healths = [h.value for h in Health]
    combos = []
    for slug in Category.objects.values_list("slug", flat=True):
        counts = dict(
            project_filter(Project.objects.published(), category=slug)
            .order_by()
            .values_list("health")
            .annotate(n=Count("pk"))
        )
        for k in range(1, 3):
            for pair in itertools.combinations(healths, k):
                pages = -(-sum(counts.get(h, 0) for h in pair) // 50)
                combos += [(slug, ",".join(pair), page) for page in range(1, min(pages, 4) + 1)]
    rng.shuffle(combos)
    lists = [
        f"/api/v1/projects/?category={slug}&health={health}&ordering=-stars&page={page}"
        for slug, health, page in combos[:3000]
    ]
    queries = synthetic.search_queries(max(MIN_PATHS, 1200))
    searches = ["/api/v1/projects/?" + urllib.parse.urlencode({"q": q}) for q in queries]
    slugs = list(Project.objects.published().order_by("?").values_list("slug", flat=True)[:2000])
    projects = [f"/projects/{s}/" for s in slugs]
    return {
        "list": lists,
        "search": searches,
        "project": projects,
        "landscape": ["/"],
        "floor": ["/bench/floor"],
        "nginx": ["/floor.json"],
    }


def deep_paths(base: str, *, size: int = 50) -> tuple[list[str], list[str]]:
    """The last pages (up to MIN_PATHS) of the API list by name, twice: by number, and as
    the next links give them, found by following next from the page before the first."""
    path = "/api/v1/projects/?ordering=name&page_size={size}&page={page}"
    count = json.loads(get(base + path.format(size=size, page=1))[2])["count"]
    pages = -(-count // size)
    first = max(1, pages - MIN_PATHS)
    numbered = [path.format(size=size, page=n) for n in range(first + 1, pages + 1)]
    sought: list[str] = []
    link = json.loads(get(base + path.format(size=size, page=first))[2])["next"]
    while link:
        parts = urllib.parse.urlsplit(link)
        sought.append(f"{parts.path}?{parts.query}")
        link = json.loads(get(base + sought[-1])[2])["next"]
    return numbered, sought


def write_paths(tmp: Path, name: str, lines: list[str]) -> Path:
    path = tmp / f"paths-{name}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def check_paths(base: str, paths: list[str], *, expect: int = 200, sample: int = 20) -> str:
    """Ask a sample of paths once: a wrong status is named in the table's note."""
    bad = []
    for path in paths[:sample]:
        status, _headers, _body = get(base + path)
        if status != expect:
            bad.append(f"{path} -> {status}")
    return "; ".join(bad[:3])


# --- the runs --------------------------------------------------------------------------------


def run_endpoint(
    name: str,
    phase: str,
    base: str,
    paths: list[str],
    tmp: Path,
    args,
    *,
    expect: int = 200,
    etags: list[str] | None = None,
    warmup: int = 0,
) -> Result:
    lines = [f"{p}\t{e}" for p, e in zip(paths, etags, strict=True)] if etags else paths
    paths_file = write_paths(tmp, name, lines)
    note = check_paths(base, paths, expect=expect) if not etags else ""
    if warmup:
        wrk(base, paths_file, duration=warmup, connections=args.connections)
    log(f"{name}: {len(paths)} paths, {args.duration} s")
    out = wrk(base, paths_file, duration=args.duration, connections=args.connections)
    result = Result(
        name=name,
        phase=phase,
        paths=len(paths),
        rps=out["rps"],
        p50_ms=out["p50"],
        p99_ms=out["p99"],
        requests=out["requests"],
        errors=out["non_2xx_3xx"] + out["socket_errors"],
        bytes_per_response=out["bytes_per_response"],
        note=note,
        raw=out["raw"],
    )
    log(
        f"  {result.rps:.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"{result.errors} errors"
    )
    return result


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def load_runs(args, tmp: Path) -> list[Result]:
    from bench.floor import FLOOR

    paths = build_paths(args)
    results: list[Result] = []
    nginx, nginx_base = start_nginx(tmp, FLOOR)
    try:
        # Uncached: the cache is off, every request is computed.
        web, base = start_gunicorn(args, tmp, cache=False)
        try:
            floor = run_endpoint("floor", "uncached", base, paths["floor"], tmp, args, warmup=2)
            results.append(floor)
            for name in ("list", "search", "project", "landscape"):
                only = args.only
                if only and name not in only:
                    continue
                r = run_endpoint(name, "uncached", base, paths[name], tmp, args, warmup=2)
                r.floor_rps = floor.rps
                results.append(r)
            if not args.only or "deep" in args.only:
                log("deep pages: following next links")
                numbered, sought = deep_paths(base)
                for name, plist in (("deep-by-number", numbered), ("deep-by-next", sought)):
                    r = run_endpoint(name, "uncached", base, plist, tmp, args, warmup=2)
                    r.floor_rps = floor.rps
                    results.append(r)
        finally:
            web.stop()
        # Cached: the product's Redis cache, on a database of our own, warmed first.
        flush_redis(args.redis_url)
        web, base = start_gunicorn(args, tmp, cache=True)
        try:
            floor = run_endpoint("floor", "cached", base, paths["floor"], tmp, args, warmup=2)
            results.append(floor)
            cached_lists = paths["list"][: args.cached_paths]
            for path in cached_lists:
                get(base + path)
            get(base + "/")
            for name, plist in (("landscape-cached", ["/"]), ("list-cached", cached_lists)):
                if args.only and name not in args.only:
                    continue
                r = run_endpoint(name, "cached", base, plist, tmp, args, warmup=1)
                r.floor_rps = floor.rps
                results.append(r)
            if not args.only or "list-304" in args.only:
                etags = []
                # The validators of the warmed paths are in the cache: asking for their
                # ETags costs nothing, whatever the directory's size.
                conditional = cached_lists
                for path in conditional:
                    etags.append(get(base + path)[1].get("ETag", ""))
                status = get(base + conditional[0], {"If-None-Match": etags[0]})[0]
                r = run_endpoint(
                    "list-304", "cached", base, conditional, tmp, args, etags=etags, warmup=1
                )
                r.floor_rps = floor.rps
                if status != 304:
                    r.note = f"a conditional GET answered {status}, not 304"
                results.append(r)
        finally:
            web.stop()
        if nginx is not None:
            r = run_endpoint("nginx", "static", nginx_base, paths["nginx"], tmp, args, warmup=1)
            results.append(r)
    finally:
        if nginx is not None:
            nginx.stop()
    nginx_rps = next((r.rps for r in results if r.name == "nginx"), 0.0)
    for r in results:
        r.nginx_rps = nginx_rps
        if r.name == "floor":
            r.floor_rps = r.rps
    return results


def import_times(args) -> list[tuple[int, str]]:
    rows = []
    for n in args.import_entries:
        log(f"import of {n} entries")
        out = subprocess.run(
            [PY, "-m", "bench.importbench", "--entries", str(n)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "LOG_LEVEL": "WARNING"},
        )
        line = next((x for x in out.stdout.splitlines() if x.startswith("import ")), "")
        match = re.search(r": ([\d.]+) s", line)
        rows.append((n, match.group(1) if match else f"failed: {out.stderr.strip()[-300:]}"))
        log(f"  {line or rows[-1][1]}")
    return rows


def refresh_row(args) -> dict:
    log(f"refresh benchmark, {args.refresh_repositories} repositories")
    out = subprocess.run(
        [
            PY,
            "-m",
            "bench.refresh_bench",
            "--repositories",
            str(args.refresh_repositories),
            "--latency",
            "0.05",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    text = out.stdout

    def value(label: str) -> str:
        match = re.search(rf"{re.escape(label)}\s+([\d.]+)", text)
        return match.group(1) if match else "?"

    # The runs under injected faults, one line each after their header (bench.refresh_bench).
    faults = [
        {"scenario": m[0], "per_repo": m[2], "failures": m[4]}
        for m in re.findall(
            r"^  (\S.*?)\s{2,}(\d+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+$",
            text.partition("under faults")[2],
            flags=re.MULTILINE,
        )
    ]
    row = {
        "repositories": value("repositories"),
        "wall": value("wall time (s)"),
        "per_repo": value("requests / repository"),
        "faults": faults,
        "raw": text.strip() or out.stderr.strip()[-500:],
    }
    log(f"  wall {row['wall']} s, {row['per_repo']} requests/repository")
    return row


# --- the report ----------------------------------------------------------------------------


def verdict(r: Result) -> str:
    target = TARGETS.get(r.name)
    if target is None:
        return ""
    holds = (
        r.ratio_floor >= target[0] and r.errors == 0 and (r.p50_ms == 0 or r.p99_ms <= 4 * r.p50_ms)
    )
    return "holds" if holds else "MISSED"


def table(results: list[Result]) -> str:
    lines = [
        "| run | phase | paths | requests/s | p50 ms | p99 ms | p99/p50 | errors | bytes | "
        "÷ floor | ÷ nginx | target | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        target = TARGETS.get(r.name)
        tail = r.p99_ms / r.p50_ms if r.p50_ms else 0.0
        lines.append(
            f"| {r.name} | {r.phase} | {r.paths} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
            f"| {tail:.1f} | {r.errors} | {r.bytes_per_response:.0f} | {r.ratio_floor:.2f} | "
            f"{r.ratio_nginx:.3f} | {f'≥ {target[0]:.2f} ÷ floor, p99 ≤ 4×p50' if target else ''} "
            f"| {verdict(r)}{' (' + r.note + ')' if r.note else ''} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = ""
    with contextlib.suppress(OSError):
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), "")
    mem = ""
    with contextlib.suppress(OSError):
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kb = int(next(x.split()[1] for x in meminfo if x.startswith("MemTotal")))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
    nginx_version = subprocess.run(
        [shutil.which("nginx") or "/usr/sbin/nginx", "-v"], capture_output=True, text=True
    ).stderr.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem}, {platform.platform()}, Python "
        f"{platform.python_version()}, load average before the run {load}; "
        f"{(wrk_version or ['wrk'])[0]}; {nginx_version}; PostgreSQL {_postgres_settings()}"
    )


def _postgres_settings() -> str:
    # Autovacuum off (as on some shared machines) lets dead rows of the trigger-kept counter
    # tables pile up during long write runs: worth knowing when reading the refresh time.
    import psycopg

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    try:
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres") as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            autovacuum = conn.execute("SHOW autovacuum").fetchone()[0]
    except psycopg.Error:
        return "(not reachable)"
    return f"{version}, autovacuum {autovacuum}"


def write_results(
    args, results, imports, refresh, started: datetime, host: str, command: str
) -> str:
    out = [
        "# Load benchmark results",
        "",
        f"Written by `bench/run.py` on {started:%Y-%m-%d %H:%M} UTC (rewritten on each run).",
        "",
        f"- entries: {args.entries:,} (synthetic, real category tree), wrk: {args.connections} "
        f"connections, 2 threads, {args.duration} s per run after a short warm-up",
        f"- gunicorn: bench/gunicorn.conf.py ({args.workers or (os.cpu_count() or 1) * 2 + 1} sync "
        "workers), DEBUG off, bench.settings (= landscape.settings + the floor view)",
        f"- machine: {host}",
        "",
        "## Table",
        "",
        table(results),
        "",
        "Ratios are to the floor measured in the same phase of this run (`÷ floor`) and to "
        "nginx serving the same 10 KB body as a file (`÷ nginx`). `bytes` is the transfer per "
        "response (headers included). A verdict needs the ratio, zero errors and "
        "p99 ≤ 4 × p50.",
        "",
        "| what | result |",
        "|---|---|",
    ]
    for n, seconds in imports:
        goal = " (target ≤ 120 s)" if n >= 100_000 else ""
        out.append(f"| import of {n:,} entries (landscape2 file) | {seconds} s{goal} |")
    if refresh:
        out.append(
            f"| refresh, {refresh['repositories']} repositories, 50 ms latency | "
            f"{refresh['wall']} s wall, {refresh['per_repo']} requests/repository |"
        )
        out += [
            f"| refresh under faults: {fault['scenario']} | {fault['per_repo']} "
            f"requests/repository, {fault['failures']} failures |"
            for fault in refresh["faults"]
        ]
    out += [
        "",
        "## Endpoints",
        "",
        *[f"- `{name}`: {what} (target ≥ {t} × floor)" for name, (t, what) in TARGETS.items()],
        *[f"- `{name}`: {what} (no target)" for name, what in UNTARGETED.items()],
        "",
        "## Commands",
        "",
        "```sh",
        "make bench    # everything below, from a fresh clone",
        command,
        "```",
        "",
        "Each wrk run: `wrk -t2 -c16 -d<duration>s --latency --timeout 10s "
        "-s bench/lua/paths.lua <base> -- <paths file>`.",
        "",
    ]
    text = "\n".join(out)
    Path(args.results).write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_WEB_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--import-entries", type=int, nargs="*", default=[2_500, 100_000])
    parser.add_argument("--refresh-repositories", type=int, default=10_000)
    parser.add_argument(
        "--cached-paths", type=int, default=100, help="list paths warmed for the cached runs"
    )
    parser.add_argument("--skip-imports", action="store_true")
    parser.add_argument("--skip-refresh", action="store_true")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--only", nargs="*", help="run only these endpoints (and the floor); deep: both deep runs"
    )
    parser.add_argument("--results", default=str(BENCH / "RESULTS.md"))
    args = parser.parse_args()
    args.secret_key = secrets.token_urlsafe(50)
    command = " ".join(["python -m bench.run", *sys.argv[1:]])
    started = datetime.now(UTC)
    host = machine()

    from bench import datagen

    datagen.ensure_database(args.database_url)
    if args.regenerate or datagen.generated_count(args.database_url) != (args.entries, args.days):
        log(f"generating {args.entries} entries")
        subprocess.run(
            [
                PY,
                "-m",
                "bench.datagen",
                "--entries",
                str(args.entries),
                "--days",
                str(args.days),
                "--database-url",
                args.database_url,
            ],
            cwd=ROOT,
            check=True,
        )
    tmp = Path(tempfile.mkdtemp(prefix="landscape-bench-"))
    try:
        env = app_env(args, tmp, cache=False)
        subprocess.run(
            [PY, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
        results = load_runs(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    imports = [] if args.skip_imports else import_times(args)
    refresh = None if args.skip_refresh else refresh_row(args)
    text = write_results(args, results, imports, refresh, started, host, command)
    print()
    print(text)
    summary = {r.name + "/" + r.phase: round(r.ratio_floor, 3) for r in results}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
