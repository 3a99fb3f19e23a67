"""How the open grader agrees with grades by hand (eval/RUBRIC.md), on eval/tune.jsonl and eval/heldout.jsonl.

    .venv/bin/python eval/measure.py                 # both sets, markdown tables (docs/grading.md)
    .venv/bin/python eval/measure.py --worst 10      # and the worst disagreements
    .venv/bin/python eval/measure.py --json          # the numbers, for tests/test_grading_eval.py

The answers are graded through the batch interface (`mianjing grade-open`), so what is measured is what
candidates get. Five bins for the kappa: a grade g by hand is bin 4·g; the grader's score s is bin
min(4, ⌊5·s⌋), so 0.6 (an answer counted as answered) starts bin 3.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import cohen_kappa_score

REPO = Path(__file__).resolve().parent.parent
SETS = {"tune": REPO / "eval" / "tune.jsonl", "heldout": REPO / "eval" / "heldout.jsonl"}
KINDS = ("excellent", "good", "partial", "misconception", "negated", "off_topic")
WRONG_KINDS = ("misconception", "negated")
ANSWERED = 0.6  # app.scoring.check.OPEN_CORRECT_THRESHOLD: what counts as answered, and as a mistake below


def machine_bin(score: float) -> int:
    return min(4, math.floor(score * 5))


def human_bin(grade: float) -> int:
    return round(grade * 4)


def grade_set(path: Path, content) -> list[dict[str, Any]]:
    from app.scoring.batch import grade_lines

    lines = path.read_text(encoding="utf-8").splitlines()
    out = list(grade_lines(content, lines))
    bad = [o for o in out if "error" in o]
    if bad:
        raise SystemExit(f"{path}: {len(bad)} line(s) could not be graded, e.g. {bad[0]}")
    return out


def metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    human = [r["human"] for r in rows]
    score = [r["score"] for r in rows]
    wrong = [r for r in rows if r["kind"] in WRONG_KINDS]
    excellent = [r for r in rows if r["kind"] == "excellent"]
    per_kind = {}
    for kind in KINDS:
        rs = [r for r in rows if r["kind"] == kind]
        if rs:
            per_kind[kind] = {"n": len(rs), "human": sum(r["human"] for r in rs) / len(rs),
                              "grader": sum(r["score"] for r in rs) / len(rs),
                              "answered": sum(r["score"] >= ANSWERED for r in rs) / len(rs)}
    return {
        "n": len(rows), "questions": len({r["id"] for r in rows}),
        "pearson": float(pearsonr(human, score).statistic),
        "spearman": float(spearmanr(human, score).statistic),
        "qwk": float(cohen_kappa_score([human_bin(h) for h in human], [machine_bin(s) for s in score],
                                       labels=[0, 1, 2, 3, 4], weights="quadratic")),
        "false_credit": sum(r["score"] >= ANSWERED for r in wrong) / len(wrong) if wrong else 0.0,
        "false_blame": sum(r["score"] < ANSWERED for r in excellent) / len(excellent) if excellent else 0.0,
        "per_kind": per_kind,
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key, label in (("n", "answers"), ("questions", "questions"), ("pearson", "Pearson"),
                       ("spearman", "Spearman"), ("qwk", "QWK (5 bins)"), ("false_credit", "false credit"),
                       ("false_blame", "false blame")):
        cells = []
        for name in names:
            v = results[name][key]
            cells.append(f"{v:.0%}" if key.startswith("false") else (f"{v:.2f}" if isinstance(v, float) else str(v)))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| kind | " + " | ".join(f"{n}: by hand / grader / ≥ 0.6" for n in names) + " |")
    lines.append("|---" * (len(names) + 1) + "|")
    for kind in KINDS:
        cells = []
        for name in names:
            k = results[name]["per_kind"].get(kind)
            cells.append(f"{k['human']:.2f} / {k['grader']:.2f} / {k['answered']:.0%}" if k else "–")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def worst(rows: list[dict[str, Any]], n: int) -> str:
    ranked = sorted(rows, key=lambda r: -abs(r["score"] - r["human"]))[:n]
    out = []
    for r in ranked:
        verdicts = ", ".join(f"{p['label']}={p['verdict']}" for p in r["keypoints"])
        wrong = "; ".join(m["label"] for m in r["misconceptions"])
        out.append(f"- `{r['id']}` {r['kind']}: by hand {r['human']}, grader {r['score']:.2f} — {verdicts}"
                   + (f"; misconception: {wrong}" if wrong else "") + f"\n  > {r['answer'][:160]}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--worst", type=int, default=0)
    ap.add_argument("--content", type=Path, default=REPO / "content")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))  # run as a script from anywhere: the app is this checkout's
    from app.content.loader import load_content

    content = load_content(args.content)
    graded = {name: grade_set(path, content) for name, path in SETS.items() if path.exists()}
    results = {name: metrics(rows) for name, rows in graded.items()}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(table(results))
    for name, rows in graded.items():
        if args.worst:
            print(f"\n### Worst disagreements: {name}\n")
            print(worst(rows, args.worst))


if __name__ == "__main__":
    main()
