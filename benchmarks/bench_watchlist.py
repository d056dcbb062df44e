"""Cost of OFAC SDN name screening: load time, microseconds per screen, memory.

    .venv/bin/python benchmarks/bench_watchlist.py [--names 2000] [--seed 7]

Loads the packaged list (detectors/data/ofac_sdn_2024-05-03.csv) a few times, then screens
two name sets one name at a time, first with empty caches (uncached: normalisation, blocking,
fuzzy scoring) and then again (cached: an LRU hit):

- hits: listed individuals and entities, people written "First LAST" as a payment would;
- misses: common Moroccan personal names and small-business names (the usual counterparty).

Prints the figures; asserts nothing about timing (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detectors.watchlist import Watchlist  # noqa: E402

PACKAGED = ROOT / "detectors" / "data" / "ofac_sdn_2024-05-03.csv"

FIRST = ("Mohamed Ahmed Youssef Fatima Khadija Rachid Karim Nadia Omar Said Hassan Aicha Meryem "
         "Yassine Amine Hamza Salma Imane Zineb Mehdi Anas Ayoub Soufiane Hicham Jamal Laila "
         "Samir Driss Abdelilah Fatima-Zahra Ghita Othmane Reda Nabil Loubna Houda").split()
LAST = [n.replace("_", " ") for n in (
    "Alami Bennani Tazi Alaoui Berrada Benjelloun Chraibi El_Idrissi Fassi_Fihri Benali Lahlou "
    "Sqalli Kettani Cherkaoui Naciri Bensouda Guessous Lazrak Ouazzani Slaoui Filali Amrani "
    "Tahiri Bakkali Ziani Mansouri Rami Benkirane Ait_Taleb Ouali").split()]
TRADES = ("Transport Services Import Export Immobilier Distribution Conseil Travaux Negoce "
          "Textile Agro Pharma Auto Logistique Voyages").split()
FORMS = ("SARL", "SA", "SARLAU", "& Fils", "Maroc", "")


def misses(n: int, rng: random.Random) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        if rng.random() < 0.75:
            names.add(f"{rng.choice(FIRST)} {rng.choice(LAST)}")
            if rng.random() < 0.3:
                names.add(f"{rng.choice(FIRST)} {rng.choice(FIRST)} {rng.choice(LAST)}")
        else:
            names.add(f"{rng.choice(LAST)} {rng.choice(TRADES)} {rng.choice(FORMS)}".strip())
    return sorted(names)[:n]


def hits(wl: Watchlist, n: int, rng: random.Random) -> list[str]:
    listed = [e for e in wl.entries if e.sdn_type in ("individual", "entity")]
    names = []
    for entry in rng.sample(listed, n):
        surname, sep, given = entry.name.partition(",")
        names.append(f"{given.strip()} {surname.strip()}" if sep else entry.name.title())
    return names


def timings(wl: Watchlist, names: list[str]) -> tuple[list[float], list[float], int]:
    """Per-name seconds uncached and cached, and how many names matched."""
    wl.cache_clear()
    uncached, cached, matched = [], [], 0
    for name in names:
        started = time.perf_counter()
        found = wl.screen(name)
        uncached.append(time.perf_counter() - started)
        matched += bool(found)
    for name in names:
        started = time.perf_counter()
        wl.screen(name)
        cached.append(time.perf_counter() - started)
    return uncached, cached, matched


def micro(seconds: list[float]) -> str:
    ordered = sorted(seconds)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1e6

    return (f"mean {statistics.fmean(ordered) * 1e6:8.1f}  p50 {pct(0.5):8.1f}  "
            f"p95 {pct(0.95):8.1f}  p99 {pct(0.99):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", type=int, default=2000, help="names per set")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--loads", type=int, default=3, help="times to load the list")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    loads = []
    started = time.perf_counter()
    wl = Watchlist.from_csv(PACKAGED)
    loads.append(time.perf_counter() - started)
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"list        {wl.source}: {len(wl):,} entries, {wl.names:,} names, "
          f"as of {wl.as_of}")
    print(f"memory      peak RSS {rss_before / 1024:.0f} MiB before loading, "
          f"{rss_loaded / 1024:.0f} MiB after loading")
    sets = {"hits": hits(wl, args.names, rng), "misses": misses(args.names, rng)}
    print("per screen  (microseconds)")
    for label, names in sets.items():
        uncached, cached, matched = timings(wl, names)
        print(f"  {label:<7} {len(names):>6,} names, {matched:>6,} matched")
        print(f"    uncached  {micro(uncached)}")
        print(f"    cached    {micro(cached)}")
    print(f"memory      peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} "
          "MiB after screening")
    del wl
    for _ in range(args.loads - 1):
        gc.collect()
        started = time.perf_counter()
        Watchlist.from_csv(PACKAGED)
        loads.append(time.perf_counter() - started)
    print(f"load        best {min(loads):.3f} s, median {statistics.median(loads):.3f} s "
          f"({len(loads)} loads)")
    tracemalloc.start()
    traced = Watchlist.from_csv(PACKAGED)
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del traced
    print(f"memory      one list retains {retained / 2**20:.1f} MiB of Python objects, "
          f"{peak / 2**20:.1f} MiB at the peak of loading (tracemalloc)")

if __name__ == "__main__":
    main()
