"""The load benchmark end to end, at a tiny size (issue 7: ``make bench`` runs from a fresh
clone and writes the table).

bench.run generates its data, starts gunicorn as in production twice (cache off, then on),
drives wrk against every endpoint and the floor, nginx when it is installed, times two
imports and the refresh benchmark, and writes the table. Only that it runs and what it
writes are checked here: its numbers belong to bench/RESULTS.md, and nothing here is
timed. Databases and a Redis database of its own, so neither the suite's nor a real
benchmark's data is touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest

from bench.run import nginx_path
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (make test installs it)"
)

UNCACHED = ["floor", "list", "search", "project", "landscape", "deep-by-number", "deep-by-next"]
CACHED = ["floor", "landscape-cached", "list-cached", "list-304"]
TARGETED = {"list", "search", "project", "landscape", "landscape-cached", "list-cached", "list-304"}


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


def _table(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[1:]:  # the separator line starts "|-"
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) != len(header):
            break  # the next table (imports and refresh)
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


@pytest.fixture
def bench_env():
    database = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/landscape")
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    urls = {
        "BENCH_WEB_DATABASE_URL": _with_path(database, "/landscape_bench_smoke_web"),
        "BENCH_IMPORT_DATABASE_URL": _with_path(database, "/landscape_bench_smoke_import"),
        "BENCH_DATABASE_URL": _with_path(database, "/landscape_bench_smoke_refresh"),
    }
    env = {**os.environ, **urls, "BENCH_REDIS_URL": _with_path(redis, "/11")}
    yield env
    from bench.datagen import drop_database

    for url in urls.values():
        drop_database(url)


def test_the_benchmark_runs_end_to_end_and_writes_its_table(tmp_path, bench_env):
    results = tmp_path / "RESULTS.md"
    command = [
        sys.executable,
        "-m",
        "bench.run",
        "--entries",
        "400",
        "--days",
        "3",
        "--duration",
        "1",
        "--connections",
        "4",
        "--import-entries",
        "60",
        "120",
        "--refresh-repositories",
        "20",
        "--cached-paths",
        "5",
        "--results",
        str(results),
    ]
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=bench_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = results.read_text()

    rows = _table(text)
    expected = [("uncached", name) for name in UNCACHED] + [("cached", name) for name in CACHED]
    if nginx_path() is not None:  # else bench.run leaves nginx out
        expected.append(("static", "nginx"))
    assert [(row["phase"], row["run"]) for row in rows] == expected
    for row in rows:
        name = row["run"]
        assert row["errors"] == "0", row
        assert float(row["requests/s"]) > 0, row
        assert float(row["p50 ms"]) > 0 and float(row["p99 ms"]) >= float(row["p50 ms"]), row
        # Each ratio is to the floor of its own phase; the floor's own is 1.
        if name == "floor":
            assert row["÷ floor"] == "1.00", row
        elif name != "nginx":
            assert float(row["÷ floor"]) > 0, row
        assert row["verdict"] in (("holds", "MISSED") if name in TARGETED else ("",)), row
    # The 304 run asked with the ETags the warmed pages gave: a 304 is a few hundred bytes,
    # where the list it stands for is kilobytes.
    by_name = {row["run"]: row for row in rows}
    assert float(by_name["list-304"]["bytes"]) < 1000 < float(by_name["list-cached"]["bytes"])

    assert re.search(r"\| import of 60 entries \(landscape2 file\) \| [\d.]+ s \|", text), text
    assert re.search(r"\| import of 120 entries \(landscape2 file\) \| [\d.]+ s", text), text
    assert re.search(r"\| refresh, 20 repositories, 50 ms latency \| [\d.]+ s wall", text), text
    # Requests per repository under injected faults (a 502, rate limits) are in the table too.
    assert re.search(r"\| refresh under faults: 502 on every 10th request \| [\d.]+ requests", text)
    assert re.search(r"\| refresh under faults: secondary limit.* \| [\d.]+ requests", text)
    assert "python -m bench.run --entries 400" in text  # the exact command, to run again
