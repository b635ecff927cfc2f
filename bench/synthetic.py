"""Synthetic ecosystem entries: realistic names, descriptions and repositories, reproducible
from a seed, placed in the real category tree (fixtures/landscape.yml).

Used by bench.datagen (rows written straight to PostgreSQL) and by bench.importfile
(landscape2 files for the import timings). Pure: no Django.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "landscape.yml"

PREFIXES = [
    "Torch",
    "Py",
    "Deep",
    "Neural",
    "Fast",
    "Light",
    "Open",
    "Auto",
    "Meta",
    "Flash",
    "Tiny",
    "Mega",
    "Hyper",
    "Quant",
    "Sparse",
    "Graph",
    "Vision",
    "Audio",
    "Text",
    "Geo",
    "Bio",
    "Med",
    "Chem",
    "Robo",
    "Cloud",
    "Edge",
    "Fed",
    "Multi",
    "Omni",
    "Nano",
    "Turbo",
    "Swift",
    "Prism",
    "Atlas",
    "Vector",
    "Tensor",
    "Kernel",
    "Signal",
    "Pixel",
    "Quantum",
]
ROOTS = [
    "vision",
    "audio",
    "graph",
    "text",
    "rl",
    "optim",
    "serve",
    "train",
    "bench",
    "data",
    "seg",
    "detect",
    "diffusion",
    "gen",
    "speech",
    "lens",
    "forge",
    "flow",
    "scope",
    "mind",
    "stack",
    "grad",
    "loss",
    "sched",
    "dist",
    "shard",
    "prune",
    "distill",
    "cache",
    "pipe",
    "tune",
    "probe",
    "sense",
    "track",
    "pose",
    "depth",
    "voxel",
    "mesh",
    "point",
    "wave",
    "token",
    "embed",
    "rank",
    "search",
    "recsys",
    "tab",
    "time",
    "series",
    "fold",
    "dock",
    "cell",
    "gene",
    "scan",
    "ray",
    "field",
    "sim",
    "physics",
    "fluid",
    "climate",
    "geo",
    "map",
    "route",
    "plan",
    "agent",
    "policy",
    "reward",
    "world",
    "lang",
    "chat",
    "code",
    "math",
    "logic",
    "proof",
    "sound",
    "music",
    "voice",
    "face",
    "hand",
    "body",
    "scene",
]
SUFFIXES = [
    "",
    "",
    "",
    "Kit",
    "Lab",
    "Hub",
    "Net",
    "ML",
    "Zoo",
    "Lite",
    "X",
    "Core",
    "Pro",
    "AI",
    "Bench",
    "Lib",
    "Tools",
    "Engine",
    "Studio",
    "Works",
]
ADJECTIVES = [
    "Fast",
    "Lightweight",
    "Modular",
    "Scalable",
    "Production-ready",
    "Research-oriented",
    "Minimal",
    "Composable",
    "Differentiable",
    "Memory-efficient",
    "Distributed",
    "Portable",
    "Type-safe",
    "Batteries-included",
    "Hackable",
    "GPU-accelerated",
]
KINDS = [
    "library",
    "toolkit",
    "framework",
    "collection of models",
    "benchmark suite",
    "training recipe",
    "inference server",
    "compiler pass",
    "dataset loader",
    "plugin",
]
TASKS = [
    "image classification",
    "object detection",
    "semantic segmentation",
    "speech recognition",
    "text generation",
    "graph neural networks",
    "reinforcement learning",
    "time series forecasting",
    "protein structure prediction",
    "medical imaging",
    "point cloud processing",
    "recommendation",
    "neural architecture search",
    "model compression",
    "quantization",
    "pruning",
    "knowledge distillation",
    "mixed precision training",
    "distributed training",
    "hyperparameter optimization",
    "probabilistic programming",
    "Bayesian inference",
    "differential equations",
    "climate modelling",
    "molecular dynamics",
    "drug discovery",
    "audio source separation",
    "music generation",
    "pose estimation",
    "3D reconstruction",
    "optical flow",
    "anomaly detection",
    "federated learning",
    "privacy-preserving learning",
    "explainability",
    "adversarial robustness",
    "active learning",
    "self-supervised learning",
    "contrastive learning",
    "diffusion models",
    "large language models",
    "retrieval",
    "tabular data",
    "geospatial data",
    "satellite imagery",
    "robotics",
    "autonomous driving",
]
FEATURES = [
    "pretrained weights",
    "a simple training loop",
    "ONNX export",
    "TorchScript support",
    "torch.compile support",
    "multi-GPU training",
    "FSDP integration",
    "a command-line tool",
    "reproducible benchmarks",
    "Hugging Face integration",
    "streaming data pipelines",
    "mixed precision",
    "custom CUDA kernels",
    "a plugin system",
    "experiment tracking",
    "an interactive dashboard",
    "Jupyter tutorials",
    "type hints",
    "CPU fallbacks",
    "8-bit optimizers",
    "automatic batching",
    "checkpointing",
    "elastic scaling",
]
LICENSES = [
    "Apache-2.0",
    "Apache-2.0",
    "Apache-2.0",
    "MIT",
    "MIT",
    "MIT",
    "BSD-3-Clause",
    "BSD-3-Clause",
    "GPL-3.0",
    "LGPL-3.0",
    "MPL-2.0",
    "BSD-2-Clause",
    "AGPL-3.0",
    "",
]
ORGS = [
    "facebookresearch",
    "pytorch",
    "google-research",
    "microsoft",
    "nvidia",
    "huggingface",
    "intel",
    "amd",
    "ibm",
    "alibaba",
    "baidu",
    "tencent",
    "openai",
    "deepmind",
    "apple",
    "salesforce",
    "uber",
    "lyft",
    "stanford",
    "mit",
    "berkeley",
    "cmu",
    "eth",
    "oxford",
    "cambridge",
    "tsinghua",
    "mila",
    "vector",
    "allenai",
    "eleutherai",
    "lightning-ai",
]
TAGS = ["vision", "nlp", "audio", "graph", "rl", "science", "edge", "cloud", "hpc", "research"]
# Shares of maturity and health, as on the real landscape (many archived listings).
MATURITIES = [("", 70), ("archived", 12), ("graduated", 6), ("incubating", 6), ("sandbox", 6)]
HEALTHS = [("active", 55), ("inactive", 22), ("archived", 8), ("missing", 2), ("unknown", 13)]


@dataclass
class Leaf:
    pillar: str
    name: str
    words: list[str] = field(default_factory=list)


@dataclass
class Entry:
    index: int
    name: str
    slug: str
    description: str
    leaf: int  # index into the list of subcategories
    second: int | None
    homepage_url: str
    repo_url: str | None
    org: str
    repo: str
    maturity: str
    health: str
    license: str
    stars: int
    forks: int
    open_issues: int
    pushed_days_ago: int
    tags: list[str]


def category_tree() -> list[tuple[str, list[str]]]:
    """The real pillars and subcategories, in order, from the demo landscape."""
    doc = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    return [(c["name"], [s["name"] for s in c["subcategories"]]) for c in doc["landscape"]]


def leaves() -> list[Leaf]:
    result = []
    for pillar, subs in category_tree():
        for sub in subs:
            words = [w.lower() for w in re.findall(r"[A-Za-z]+", sub) if len(w) > 2]
            result.append(Leaf(pillar, sub, words))
    return result


def _weighted(rng: random.Random, table: list[tuple[str, int]]) -> str:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights)[0]


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def entries(n: int, *, seed: int = 7, reserved: set[str] | None = None) -> Iterator[Entry]:
    """``n`` entries with unique names, slugs and repositories (names in ``reserved`` and
    their slugs are avoided: the real entries already loaded)."""
    rng = random.Random(seed)
    tree = leaves()
    # Members and foundation categories stay small, as on the real landscape.
    weights = [1 if leaf.pillar.startswith("PyTorch ") else 30 for leaf in tree]
    taken_names = {name.lower() for name in (reserved or set())}
    taken_slugs = {slugify(name) for name in (reserved or set())}
    for i in range(n):
        leaf = rng.choices(range(len(tree)), weights)[0]
        base = rng.choice(PREFIXES) + rng.choice(ROOTS).capitalize() + rng.choice(SUFFIXES)
        if rng.random() < 0.25:
            base = f"{rng.choice(PREFIXES)} {rng.choice(ROOTS).capitalize()}"
        name, k = base, 1
        while name.lower() in taken_names or slugify(name) in taken_slugs:
            k += 1
            name = f"{base} {k}"
        taken_names.add(name.lower())
        slug = slugify(name)
        taken_slugs.add(slug)
        words = tree[leaf].words
        task = rng.choice(TASKS)
        description = (
            f"{rng.choice(ADJECTIVES)} PyTorch {rng.choice(KINDS)} for {task}"
            + (f" and {' '.join(rng.sample(words, min(2, len(words))))}" if words else "")
            + f", with {rng.choice(FEATURES)} and {rng.choice(FEATURES)}."
        )
        org = rng.choice(ORGS) if rng.random() < 0.4 else slug.split("-")[0] + "-org"
        has_repo = rng.random() < 0.9
        health = _weighted(rng, HEALTHS) if has_repo else "unknown"
        stars = int(min(rng.lognormvariate(5.0, 1.8), 250_000))
        second = rng.randrange(len(tree)) if rng.random() < 0.06 else None
        if second == leaf:
            second = None
        yield Entry(
            index=i,
            name=name,
            slug=slug,
            description=description,
            leaf=leaf,
            second=second,
            homepage_url=f"https://{slug}.readthedocs.io/en/latest/",
            repo_url=f"https://github.com/{org}/{slug}" if has_repo else None,
            org=org,
            repo=slug,
            maturity=_weighted(rng, MATURITIES),
            health=health,
            license=rng.choice(LICENSES),
            stars=stars,
            forks=stars // rng.randint(5, 15),
            open_issues=rng.randint(0, 400),
            pushed_days_ago=int(rng.expovariate(1 / 200)),
            tags=rng.sample(TAGS, rng.randint(0, 2)),
        )


def search_queries(count: int = 1200, *, seed: int = 11) -> list[str]:
    """Distinct queries a visitor types: words, prefixes, two words, names, typos."""
    rng = random.Random(seed)
    words = sorted(
        {w.lower() for w in ROOTS + PREFIXES} | {w for t in TASKS for w in t.split() if len(w) > 3}
    )
    queries: list[str] = []
    seen: set[str] = set()
    while len(queries) < count:
        roll = rng.random()
        if roll < 0.35:
            q = f"{rng.choice(words)} {rng.choice(words)}"
        elif roll < 0.55:
            q = rng.choice(PREFIXES).lower() + rng.choice(ROOTS)
        elif roll < 0.7:
            q = rng.choice(TASKS)
        elif roll < 0.85:
            w = rng.choice(words)
            q = w[: max(3, len(w) - rng.randint(1, 3))]  # a prefix
        else:
            w = rng.choice(words) + rng.choice(words)
            j = rng.randrange(1, len(w) - 1)
            q = w[:j] + w[j + 1 :]  # a typo: one letter dropped
        if q not in seen:
            seen.add(q)
            queries.append(q)
    return queries
