"""GIFT import of a large file (app/formats/gift.py): the issue asks < 2 s and < 300 MB for 10,000 questions.

    python bench/bench_gift.py                 # 10,000 questions, 5 runs
    python bench/bench_gift.py --questions 50000 --runs 3
    python bench/bench_gift.py --html          # every question text HTML, as Moodle's own export writes it

The file is generated here, deterministically: a $CATEGORY every 100 questions and a mix of every GIFT
type as teachers write them (multiple choice with feedback and weights, several answers, true/false, short
answers, matching, numeric with tolerance, ranges and several answers, essays, descriptions, missing word,
[html] text, Moodle 4 id/tag comments, escapes, multi-line text). It prints the file size, the import time
of each run (median and worst), the questions and notes, and the peak memory: the process's peak resident
set (ru_maxrss) minus what it held before the import (Python, lark, the file text), and tracemalloc's peak
of one more run for what the import itself allocates. Wall time and CPU time are both printed: on a busy
machine the CPU time is the import's own cost.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.formats.gift import _parser, import_gift  # noqa: E402

TEMPLATES = (
    "// [id:q{n}] [tag:bench] [tag:t{m}]\n::Question {n}::Which layer does item {n} use?{{\n"
    "\t~Conv#Not quite: conv {n} is local.\n\t=Attention#Right.\n\t~%-50%Pooling\n\t####Attention mixes all tokens.\n}}",
    "::Several {n}::Which are one-stage detectors ({n})?{{~%50%YOLO ~%50%SSD#single shot ~%-100%Faster R-CNN}}",
    "::TF {n}::ReLU number {n} is linear.{{F#It is piecewise linear.#Right.}}",
    "::Short {n}::Which loss does RetinaNet use (item {n})?{{=focal loss =%50%FL#abbreviation ####Focal loss.}}",
    "::Match {n}::Match the models ({n}).{{\n\t=YOLO -> one-stage\n\t=Faster R-CNN -> two-stage\n"
    "\t=DETR -> transformer\n\t= -> diffusion\n}}",
    "::Numeric {n}::What is {n} + 0.14?{{#{n}.14:0.01}}",
    "::Range {n}::Give a number between {n} and {m}.{{#{n}..{m}}}",
    "::Several numeric {n}::How many classes ({n})?{{#\n\t=%100%80:0#Yes.\n\t=%50%91:0#Ids, not classes.\n}}",
    "::Essay {n}::Explain why item {n}\nworks the way it does.{{####Because of $$\\\\frac\\{{1\\}}\\{{{n}\\}}$$.}}",
    "::Description {n}::The next questions are about segment {n}.",
    "::Missing {n}::Mask R-CNN {n} adds a {{~box ~keypoint =mask}} branch.",
    "::HTML {n}::[html]<p>Which layer is <b>upsampled</b> in decoder {n}?</p>{{=feature maps}}",
    "::Escapes {n}::a \\= {n} and b \\~ 3 \\# exactly\\: \\{{x\\}}?{{=\\{{x\\}} =x}}",
)


def as_moodle_html(question: str) -> str:
    """The question as Moodle's own export writes a question edited in its HTML editor: `[html]<p>…</p>`."""
    if "::" not in question or "[html]" in question or "\\{" in question:
        return question
    head, _, rest = question.partition("::")[2].partition("::")
    text, brace, answers = rest.partition("{")
    return f"::{head}::[html]<p>{text.strip()}</p>{brace}{answers}"


def make_file(questions: int, html: bool = False) -> str:
    parts = []
    for n in range(questions):
        if n % 100 == 0:
            parts.append(f"$CATEGORY: $course$/top/Bench/part {n // 100}")
        question = TEMPLATES[n % len(TEMPLATES)].format(n=n, m=n + 5)
        comments = ""
        if question.startswith("//"):
            comments, _, question = question.partition("\n")
            comments += "\n"
        parts.append(comments + (as_moodle_html(question) if html else question))
    return "\n\n".join(parts) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--html", action="store_true", help="every question text in [html]<p>…</p>, as Moodle exports")
    args = ap.parse_args()
    text = make_file(args.questions, html=args.html)
    _parser()  # the grammar is built once per process, like in the server
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times, cpu = [], []
    result = None
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = import_gift(text, bank="bench", file="bench.gift")
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        del result
        gc.collect()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    result = import_gift(text, bank="bench", file="bench.gift")
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kinds: dict[str, int] = {}
    for note in result.notes:
        kinds[note.kind] = kinds.get(note.kind, 0) + 1
    print(f"file: {len(text.encode()) / 1e6:.2f} MB, {args.questions} questions")
    print(f"imported: {len(result.questions)} questions, notes: {kinds or 'none'}")
    print(f"import: median {statistics.median(times):.3f} s, worst {max(times):.3f} s over {args.runs} runs "
          f"(CPU time: median {statistics.median(cpu):.3f} s, worst {max(cpu):.3f} s; os.getloadavg() "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    print(f"memory: peak RSS {peak:.0f} MB (before the import {before:.0f} MB, +{peak - before:.0f} MB); "
          f"tracemalloc peak of one import {traced / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
