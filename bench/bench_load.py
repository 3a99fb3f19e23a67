"""Load + validate the 10k-question synthetic content N times, each in a fresh subprocess.

    python bench/bench_load.py                     # generate 10k questions into a temp dir, 5 runs
    python bench/bench_load.py --content /tmp/syn --runs 7
    python bench/bench_load.py --profile           # also print a pyinstrument profile of one load

Reports, per run and as medians: seconds spent in `load_content` (parse + validate + index), the import
time of the content modules, and the RSS added (VmRSS after loading minus VmRSS before importing the
content code) plus the peak (ru_maxrss minus the starting VmRSS). Targets: load < 1 s, RSS < 150 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 1.0
TARGET_MB = 150.0

CHILD = r"""
import json, resource, sys, time

def vmrss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

rss0 = vmrss_kb()
t0 = time.perf_counter()
from app.content.loader import load_content
t1 = time.perf_counter()
rss1 = vmrss_kb()
content = load_content(sys.argv[1])
t2 = time.perf_counter()
rss2 = vmrss_kb()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
print(json.dumps({
    "import_s": t1 - t0, "load_s": t2 - t1, "questions": len(content.questions),
    "rss_before_mb": rss0 / 1024, "rss_import_mb": (rss1 - rss0) / 1024,
    "rss_added_mb": (rss2 - rss0) / 1024, "rss_content_mb": (rss2 - rss1) / 1024,
    "peak_added_mb": (peak - rss0) / 1024,
}))
"""


def run_once(content_dir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(content_dir)], cwd=ROOT, check=True, capture_output=True, text=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def profile(content_dir: Path) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed: pip install pyinstrument")
        return
    from app.content.loader import load_content

    load_content(content_dir)  # imports and first-use work out of the way
    profiler = Profiler(interval=0.001)
    profiler.start()
    load_content(content_dir)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False))


def breakdown(content_dir: Path) -> None:
    """Wall time of the main stages of one (warm) load, by wrapping them in timers in this process."""
    import time

    import app.content.banks as banks
    import app.content.loader as loader
    import app.content.markdown_doc as markdown_doc

    spent: dict[str, float] = {}

    def timed(label, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t
        return wrapper

    loader.load_content(content_dir)  # warm: imports, first-use caches
    originals = (markdown_doc.load_yaml, banks.validate_ranges, loader.SearchIndex, loader._cross_check)
    markdown_doc.load_yaml = timed("yaml blocks (libyaml CSafeLoader)", markdown_doc.load_yaml)
    banks.validate_ranges = timed("generated: validate_ranges (50 draws each)", banks.validate_ranges)
    loader.SearchIndex = timed("SearchIndex build", loader.SearchIndex)
    loader._cross_check = timed("cross-check (ids, follow-ups, rounds)", loader._cross_check)
    try:
        t = time.perf_counter()
        content = loader.load_content(content_dir)
        total = time.perf_counter() - t
    finally:
        (markdown_doc.load_yaml, banks.validate_ranges, loader.SearchIndex, loader._cross_check) = originals
    n_gen = sum(q.type == "generated" for q in content.questions)
    print(f"stage breakdown of one warm load ({total:.3f} s; {n_gen} generated items):")
    for label, sec in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {label:45s} {sec:6.3f} s  {sec / total:5.1%}")
    rest = total - sum(spent.values())
    print(f"  {'rest (markdown split, per-type checks, ...)':45s} {rest:6.3f} s  {rest / total:5.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--content", type=Path, help="content directory (default: generate one in a temp dir)")
    parser.add_argument("--questions", type=int, default=10_000, help="questions to generate (default 10000)")
    parser.add_argument("--runs", type=int, default=5, help="fresh subprocesses (default 5)")
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile of one load")
    parser.add_argument("--breakdown", action="store_true", help="print the time of each load stage")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mianjing-bench-") as tmp:
        content_dir = args.content
        label = str(content_dir)
        if content_dir is None:
            from make_synthetic_bank import generate  # type: ignore[import-not-found]

            content_dir = Path(tmp) / "content"
            generate(content_dir, args.questions)
            label = f"synthetic, {args.questions} questions (seed 1)"
        results = []
        for i in range(args.runs):
            r = run_once(content_dir)
            results.append(r)
            print(f"run {i + 1}: load {r['load_s']:.3f} s (import {r['import_s']:.3f} s), "
                  f"RSS +{r['rss_added_mb']:.1f} MB (content {r['rss_content_mb']:.1f} MB, "
                  f"imports {r['rss_import_mb']:.1f} MB), peak +{r['peak_added_mb']:.1f} MB")
        med = {k: statistics.median(r[k] for r in results) for k in results[0]}
        print()
        print("| content | questions | runs | median load+validate | median import | RSS added | "
              "of which content | peak added |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        print(f"| {label} | {int(med['questions'])} | {args.runs} | {med['load_s']:.3f} s | "
              f"{med['import_s']:.3f} s | {med['rss_added_mb']:.1f} MB | {med['rss_content_mb']:.1f} MB | "
              f"{med['peak_added_mb']:.1f} MB |")
        print()
        ok_t = med["load_s"] < TARGET_SECONDS
        ok_m = med["rss_added_mb"] < TARGET_MB
        print(f"load time  {med['load_s']:.3f} s  target < {TARGET_SECONDS:g} s   -> {'MET' if ok_t else 'MISSED'}")
        print(f"RSS added  {med['rss_added_mb']:.1f} MB target < {TARGET_MB:g} MB -> {'MET' if ok_m else 'MISSED'}")
        if args.breakdown:
            print()
            breakdown(content_dir)
        if args.profile:
            print()
            profile(content_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
