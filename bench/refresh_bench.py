"""Refresh benchmark: N synthetic repositories against the fake GitHub with added latency.

Prints wall time and API requests per repository (goal with a token: <= 0.02, one
GraphQL query per 50 repositories), then the requests per repository of the same refresh
under faults the fake GitHub injects as GitHub answers them: a 502 on every 10th request,
queries too heavy to finish (GraphQL), and rate limits (a secondary limit, then the quota
spent half-way, resumed after the reset as the worker would). Not a test: it measures,
it asserts nothing.

    .venv/bin/python -m bench.refresh_bench --repositories 10000 --latency 0.05 [--rest]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per answer")
    parser.add_argument("--rest", action="store_true", help="no token: REST, 2 calls each")
    parser.add_argument("--no-faults", action="store_true", help="only the run without faults")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/landscape_bench"
        ),
    )
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.pop("REDIS_URL", None)  # locks in process memory; no broker needed here
    os.environ["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "landscape.settings")
    from bench.datagen import drop_database, ensure_database

    # A database of its own, made anew: rows a previous run left dead would slow this one
    # (the counter tables are rewritten on every change of health).
    drop_database(args.database_url)
    ensure_database(args.database_url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from tqdm import tqdm

    from projects import status
    from projects.models import Category, Project, RepositoryStatus
    from tests.fakes.servers import FakeGitHub, Fault

    call_command("migrate", verbosity=0)
    pillar = Category.objects.create(name="Bench", slug="bench")
    sub = Category.objects.create(name="Synthetic", slug="bench-synthetic", parent=pillar)

    token = "bench-token"  # noqa: S105 - the fake server's own token
    github = FakeGitHub(token=token).start()
    github.latency = args.latency
    github.rest_quota.limit = github.rest_quota.remaining = 10**9
    github.graphql_quota.limit = github.graphql_quota.remaining = 10**9
    settings.GITHUB_API_URL = github.api_url
    settings.GITHUB_GRAPHQL_URL = github.graphql_url
    settings.GITHUB_TOKEN = "" if args.rest else token
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]

    n = args.repositories
    started = time.perf_counter()
    projects = []
    for i in range(n):
        kind = i % 10
        name = f"bench-{i:06d}"
        if kind == 0:
            github.archived(f"org{i % 97}/{name}")
        elif kind == 1:
            github.inactive(f"org{i % 97}/{name}")
        else:
            github.active(f"org{i % 97}/{name}", days_ago=1 + i % 300)
        projects.append(
            Project(
                name=name,
                slug=name,
                homepage_url=f"https://{name}.example/",
                repo_url=f"https://github.com/org{i % 97}/{name}",
                category=sub,
                maturity="archived" if i % 7 == 0 else "",
                logo="logos/bench.svg",
                position=i,
            )
        )
    Project.objects.bulk_create(projects, batch_size=2000)
    status.repositories_sync()
    ids = status.repositories_due()
    with connection.cursor() as cursor:  # as autovacuum would after a bulk load
        cursor.execute("VACUUM ANALYZE")
    setup_s = time.perf_counter() - started

    def refresh_all() -> tuple[status.RefreshReport, int, float]:
        """Every repository once, 50 a batch as the worker's tasks; a batch stopped by a
        rate limit resumes after the reset (here: the fake's quotas refill at once)."""
        github.reset_requests()
        started = time.perf_counter()
        total = status.RefreshReport()
        pending = list(ids)
        while pending:
            batches = [pending[i : i + 50] for i in range(0, len(pending), 50)]
            pending = []
            for batch in tqdm(batches, unit="batch", disable=not sys.stderr.isatty()):
                report = status.repositories_refresh(ids=batch)
                total.merge(report)
                pending += report.pending_ids
            github.rest_quota.refill()
            github.graphql_quota.refill()
        return total, github.request_count, time.perf_counter() - started

    total, requests, wall = refresh_all()

    checked = RepositoryStatus.objects.filter(checked_at__isnull=False).count()
    mode = "REST (no token)" if args.rest else "GraphQL (token)"
    print(f"refresh benchmark, {mode}, {args.latency * 1000:.0f} ms added latency")
    print(f"  repositories          {len(ids)}")
    print(f"  checked               {checked}")
    print(f"  setup (s)             {setup_s:.1f}")
    print(f"  wall time (s)         {wall:.1f}")
    print(f"  repositories / s      {checked / wall:.1f}")
    print(f"  API requests          {requests}")
    print(f"  requests / repository {requests / max(checked, 1):.4f}")
    print(f"  new findings          {total.new_findings}")
    if args.no_faults:
        github.stop()
        return

    quotas = (github.rest_quota, github.graphql_quota)

    def rate_limits() -> None:
        github.secondary_limit(times=1, retry_after=60)
        for quota in quotas:
            quota.exhaust_after(requests // 2)

    def heavy_queries() -> None:
        github.graphql_timeout_above = 20

    scenarios = [
        ("502 on every 10th request", lambda: github.fail_every(10, Fault.server_error(502))),
        ("secondary limit, quota spent half-way", rate_limits),
    ]
    if not args.rest:
        scenarios.append(("queries over 20 repositories time out", heavy_queries))
    print("under faults (each run refreshes every repository again, ETags dropped)")
    print(
        f"  {'scenario':<40} {'requests':>9} {'req/repo':>9} {'checked':>8} {'failures':>8} "
        f"{'rel. unknown':>12} {'rate waits':>10} {'wall (s)':>8}"
    )
    for name, inject in scenarios:
        # Without ETags every repository is asked in full, as in the run above: a 304
        # would make the fault runs look cheaper than they are.
        RepositoryStatus.objects.update(etag="")
        inject()
        report, made, seconds = refresh_all()
        github.fail_every(1, None)
        github.graphql_timeout_above = None
        for quota in quotas:
            quota.limit = quota.remaining = 10**9
        print(
            f"  {name:<40} {made:>9} {made / max(len(ids), 1):>9.4f} {report.checked:>8} "
            f"{report.failures:>8} {report.releases_unknown:>12} {report.rate_limit_waits:>10} "
            f"{seconds:>8.1f}"
        )
    github.stop()


if __name__ == "__main__":
    main()
