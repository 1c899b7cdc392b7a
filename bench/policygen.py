"""Synthetic site policies for benchmarks: many pages and directories, realistic paths."""

from __future__ import annotations

import random
from pathlib import Path

TYPES = ["text/html", "image/png", "image/jpeg", "application/pdf", "text/css",
         "application/javascript", "application/json", "font/woff2", "video/mp4"]
WORDS = ["actualites", "publications", "dossiers", "presse", "resultats", "2026", "2027",
         "regions", "outils", "medias", "documents", "agenda", "services", "aide", "archives"]


def directory(rng: random.Random, depth: int) -> str:
    return "/" + "/".join(rng.choice(WORDS) + str(rng.randrange(40)) for _ in range(depth)) + "/"


def write_big_site(dest: Path, pages: int = 10_000, directories: int = 1_000, seed: int = 7) -> Path:
    """A valid site file with ``pages`` page rules and ``directories`` directory rules."""
    rng = random.Random(seed)
    dirs: set[str] = set()
    while len(dirs) < directories:
        dirs.add(directory(rng, rng.randint(1, 4)))
    dir_list = sorted(dirs)
    page_set: set[str] = set()
    while len(page_set) < pages:
        page_set.add(rng.choice(dir_list) + f"page-{rng.randrange(10**6)}.html")
    lines = [
        "site: big.example.gouv.fr",
        "origin: https://origin.big.example.gouv.fr",
        "content_type_groups:",
        "  images: [image/*]",
        "  static: [text/css, application/javascript, font/*]",
        "rules:",
        "  - {default: true, ttl: 1h}",
        "  - {content_type_group: images, ttl: 7d}",
        "  - {content_type_group: static, ttl: 30d}",
        "  - {content_type: text/html, ttl: 5m}",
    ]
    for i, d in enumerate(dir_list):
        if i % 3 == 0:
            lines.append(f"  - {{directory: {d}, content_type: text/html, ttl: {rng.randint(1, 600)}}}")
        else:
            lines.append(f"  - {{directory: {d}, ttl: {rng.randint(0, 3600)}}}")
    for p in sorted(page_set):
        lines.append(f"  - {{page: {p}, ttl: {rng.randint(1, 300)}s}}")
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "big.example.gouv.fr.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def random_requests(rng: random.Random, dirs: list[str], pages: list[str], n: int) -> list[tuple[str, str]]:
    """Paths mixing exact pages, files under rule directories and unrelated paths."""
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.3 and pages:
            path = rng.choice(pages)
        elif r < 0.8 and dirs:
            path = rng.choice(dirs) + rng.choice(WORDS) + f"/file-{rng.randrange(1000)}.html"
        else:
            path = directory(rng, rng.randint(1, 5)) + "index.html"
        out.append((path, rng.choice(TYPES)))
    return out
