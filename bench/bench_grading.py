"""Time the open grader on answers of 300, 2,000 and 20,000 characters, realistic and adversarial.

    python bench/bench_grading.py                 # every open item of the bundled banks, 3 sizes x 4 kinds
    python bench/bench_grading.py --calls 400

Targets (issue: open answers graded claim by claim): p99 < 5 ms up to 2,000 characters, < 50 ms at 20,000.
Each call grades one answer against one open item's rubric, as practice, interviews and `mianjing
grade-open` do (`check_answer`). Texts are cut to the size from:
- realistic: the evaluation sets' answers, concatenated (spoken Chinese, English, lists, negations);
- clauses: thousands of two-character clauses, "不是，没有，" — the most clauses per character;
- near-misses: every item's own patterns with one character changed, so every fuzzy comparison runs;
- one-clause: the same near-misses with no punctuation at all, a single 20,000-character clause.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.content.loader import load_content  # noqa: E402
from app.scoring.check import check_answer  # noqa: E402

SIZES = (300, 2_000, 20_000)
TARGET_MS = {300: 5.0, 2_000: 5.0, 20_000: 50.0}


def realistic() -> str:
    parts = []
    for name in ("tune", "heldout"):
        path = ROOT / "eval" / f"{name}.jsonl"
        if path.exists():
            parts += [json.loads(line)["answer"] for line in path.read_text(encoding="utf-8").splitlines()]
    return "。".join(parts)


def near_misses(questions, rng: random.Random, sep: str) -> str:
    words = [s for q in questions for kp in q.keypoints for s in kp.synonyms if len(s) >= 4]
    out = []
    for w in rng.sample(words, len(words)):
        i = rng.randrange(len(w))
        out.append(w[:i] + "错" + w[i + 1:])
    return sep.join(out)


def fit(text: str, size: int) -> str:
    while len(text) < size:
        text += text
    return text[:size]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=300, help="timed calls per size and kind")
    ap.add_argument("--content", type=Path, default=ROOT / "content")
    args = ap.parse_args()
    content = load_content(args.content)
    opens = [q for q in content.questions if q.type == "open"]
    for q in opens:  # each item's rubric is prepared once per published version, as in the running service
        check_answer(q, "预热")
    rng = random.Random(7)
    kinds = {"realistic": realistic(), "clauses": "不是，没有，" * 5000,
             "near-misses": near_misses(opens, rng, "，"), "one-clause": near_misses(opens, rng, "")}
    print(f"{len(opens)} open items; {args.calls} calls per cell, each on the next item; p50 / p99 / max in ms\n")
    print("| answer | " + " | ".join(f"{n:,} chars" for n in SIZES) + " |")
    print("|---" * (len(SIZES) + 1) + "|")
    worst = {n: 0.0 for n in SIZES}
    for kind, source in kinds.items():
        cells = []
        for size in SIZES:
            calls = args.calls if size < 20_000 else max(30, args.calls // 5)
            texts = []
            for i in range(calls):  # a different window of the source per call: no answer is graded twice
                start = (i * 997) % max(1, len(source) - size) if len(source) > size else 0
                texts.append(fit(source[start:], size))
            for t in texts[:10]:
                check_answer(opens[0], t)
            times = []
            for i, t in enumerate(texts):
                q = opens[i % len(opens)]
                started = time.perf_counter()
                check_answer(q, t)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            worst[size] = max(worst[size], p99)
            cells.append(f"{statistics.median(times):.2f} / {p99:.2f} / {times[-1]:.2f}")
        print(f"| {kind} | " + " | ".join(cells) + " |")
    print()
    for size in SIZES:
        verdict = "met" if worst[size] < TARGET_MS[size] else "MISSED"
        print(f"{size:>6,} chars: worst p99 {worst[size]:.2f} ms, target < {TARGET_MS[size]:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
