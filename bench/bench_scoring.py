"""Time `check_answer` in-process for every question type of the sample fixture bank.

    python bench/bench_scoring.py                  # 2000 timed calls per case after 200 warm-up calls
    python bench/bench_scoring.py --calls 5000 --profile open-partial

Cases use tests/fixtures/valid/banks/sample.md (one question of each type). Generated items rotate the
seed every call (each call draws its instance) and answer that instance correctly. The open answers are
~300 Chinese characters: one covers every key point, one misses a point (so the fuzzy matcher runs).
Target: median < 1 ms for every case.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MS = 1.0
FIXTURE = ROOT / "tests" / "fixtures" / "valid"

# ~300 characters, covers 通道 / 均值+方差 / gamma+beta.
OPEN_FULL = (
    "BN 也就是批归一化，它的计算过程是这样的：对于卷积层输出的特征图，按每个通道分别统计，在 N、H、W 三个维度上"
    "求出这一批数据的均值和方差，然后用每个元素减去均值、再除以标准差（分母里加一个很小的 epsilon 防止除零），"
    "得到零均值、单位方差的标准化结果。之后再乘以可学习的缩放参数 gamma、加上可学习的平移参数 beta，让网络"
    "自己决定要不要恢复原来的分布。训练时用当前 batch 的统计量，同时用动量更新滑动平均；推理时不再依赖 batch，"
    "而是使用训练阶段累计的 running mean 和 running var，所以 model.eval() 非常重要。它能让各层输入分布更稳定，"
    "允许更大的学习率，加快收敛，还有一定的正则化效果。"
)
# ~300 characters, never names the scale/shift point (so that point goes through fuzzy matching).
OPEN_PARTIAL = (
    "我理解的 BN 是在训练深层网络时为了让每一层输入的分布更稳定而提出的。具体做法是对每个通道分别处理，"
    "在一个 mini-batch 里把这个通道上所有位置的数值拿出来，计算它们的均值和方差，然后做标准化，"
    "也就是减去均值再除以标准差，分母上会加一个很小的数保证数值稳定。训练阶段用的是当前 batch 的统计量，"
    "并且会用动量方式累计一个滑动平均，到了推理阶段就直接用这个累计值，不再依赖 batch 的大小。"
    "实际项目里 batch 太小的时候统计量噪声很大，效果会变差，这时候我一般会换成 GroupNorm 或者冻结 BN 层，"
    "另外部署的时候可以把它融合进前面的卷积里面，几乎没有额外的推理开销。"
)


def cases(content) -> dict[str, tuple[object, list[tuple[object, int | None]]]]:
    """name -> (question, [(answer, seed), ...]) cycled through during the timed calls."""
    from app.scoring.check import expected_answer

    q = content.by_id
    gen = q["s-generated"]
    return {
        "single": (q["s-single"], [("B", None), ("A", None)]),
        "multiple": (q["s-multiple"], [(["A", "B", "D"], None), ("A,C", None)]),
        "numeric": (q["s-numeric"], [(128, None), ("130", None)]),
        "shape": (q["s-shape"], [([1, 64, 56, 56], None), ("(64, 56, 56)", None), ("1x64x28x28", None)]),
        "open-full": (q["s-open"], [(OPEN_FULL, None)]),
        "open-partial": (q["s-open"], [(OPEN_PARTIAL, None)]),
        "generated": (gen, [(expected_answer(gen, seed=s), s) for s in range(500)]),
    }


def bench_case(check, question, answers, calls: int, warmup: int) -> list[float]:
    n = len(answers)
    for i in range(warmup):
        answer, seed = answers[i % n]
        check(question, answer, seed=seed)
    times = []
    clock = time.perf_counter_ns
    for i in range(calls):
        answer, seed = answers[i % n]
        t = clock()
        check(question, answer, seed=seed)
        times.append((clock() - t) / 1e6)
    return times


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per case (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls per case first (default 200)")
    parser.add_argument("--profile", metavar="CASE", help="print a pyinstrument profile of one case")
    args = parser.parse_args(argv)

    from app.content.loader import load_content
    from app.scoring.check import check_answer

    content = load_content(FIXTURE)
    all_cases = cases(content)
    t = time.perf_counter()
    check_answer(content.by_id["s-open"], OPEN_FULL)
    first_open = time.perf_counter() - t
    print(f"first open check (builds the jieba tokenizer once per process): {first_open * 1000:.0f} ms")
    print()
    print(f"| case | calls | median | p99 | mean | target median < {TARGET_MS:g} ms |")
    print("|---|---:|---:|---:|---:|---|")
    missed = []
    for name, (question, answers) in all_cases.items():
        times = bench_case(check_answer, question, answers, args.calls, args.warmup)
        med = statistics.median(times)
        ok = med < TARGET_MS
        if not ok:
            missed.append(name)
        print(f"| {name} | {args.calls} | {med:.3f} ms | {pct(times, 99):.3f} ms | "
              f"{statistics.fmean(times):.3f} ms | {'met' if ok else 'MISSED'} |")
    print()
    print("all medians under target" if not missed else f"MISSED: {', '.join(missed)}")

    if args.profile:
        try:
            from pyinstrument import Profiler
        except ImportError:
            print("pyinstrument is not installed: pip install pyinstrument")
            return 0
        question, answers = all_cases[args.profile]
        profiler = Profiler(interval=0.0001)
        profiler.start()
        bench_case(check_answer, question, answers, args.calls, 0)
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
