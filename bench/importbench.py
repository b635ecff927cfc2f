"""Import timing: a landscape2 file of N entries (the real category tree, synthetic items)
imported with projects.services.landscape_import into a fresh database.

Prints one line, ``import <entries> entries: <seconds> s (<created> created)``. Not a test:
it measures, it asserts nothing.

    .venv/bin/python -m bench.importbench --entries 100000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/landscape_bench_import"


def landscape_file(entries: int, *, seed: int = 7) -> str:
    """A landscape2 file: the real pillars and subcategories, ``entries`` synthetic items."""
    import yaml

    from bench import synthetic

    tree = synthetic.leaves()
    items: dict[int, list[dict]] = {}
    for e in synthetic.entries(entries, seed=seed):
        item = {
            "item": None,
            "name": e.name,
            "description": e.description,
            "homepage_url": e.homepage_url,
        }
        if e.repo_url:
            item["repo_url"] = e.repo_url
        if e.maturity:
            item["project"] = e.maturity
        if e.second is not None:
            item["second_path"] = [f"{tree[e.second].pillar} / {tree[e.second].name}"]
        if e.tags:
            item["extra"] = {"tag": e.tags[0]}
        items.setdefault(e.leaf, []).append(item)
    pillars: list[dict] = []
    for k, leaf in enumerate(tree):
        if not pillars or pillars[-1]["name"] != leaf.pillar:
            pillars.append({"category": None, "name": leaf.pillar, "subcategories": []})
        pillars[-1]["subcategories"].append(
            {"subcategory": None, "name": leaf.name, "items": items.get(k, [])}
        )
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(
        {"landscape": pillars}, Dumper=dumper, sort_keys=False, allow_unicode=True, width=1000
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2_500)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_IMPORT_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    args = parser.parse_args()

    from bench.datagen import drop_database, ensure_database, setup_django

    drop_database(args.database_url)
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    from projects.models import Project
    from projects.services import landscape_import

    call_command("migrate", verbosity=0)
    text = landscape_file(args.entries)
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write(text)
    started = time.perf_counter()
    summary = landscape_import(text=Path(f.name).read_text(encoding="utf-8"))
    elapsed = time.perf_counter() - started
    os.unlink(f.name)
    created = sum(summary.created.values())
    print(
        f"import {args.entries} entries: {elapsed:.1f} s ({created} created, "
        f"{Project.objects.count()} in the database)"
    )


if __name__ == "__main__":
    main()
