"""Questions in and out: a 10,000-question GIFT import, and every bundled bank exported to every format.

1. Import: writes a GIFT file of N questions the way other systems write them (every GIFT question type, the
   text formats, categories, feedback, weights, escapes, Chinese and LaTeX; no Mianjing extension), then runs
   `mianjing content import` on it in a fresh process, as a user does: wall time and the child's peak RSS
   (target < 2 s and < 300 MB for 10,000). The same file with every question carrying Mianjing's own
   extension (`// mianjing: {...}`, as Mianjing's own export writes it) is timed beside it.
2. Export: every bundled bank to each format three ways: the admin download from a running `mianjing serve`
   (`GET /api/v1/admin/banks/all/export`, what the admin page's links do), `mianjing content export` in a
   fresh process (which loads the content first, 0.9 s of it), and the exporter alone over the loaded
   content (target: all formats together < 5 s).

    python bench/bench_formats.py [--questions 10000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MIANJING = [sys.executable, "-m", "app.cli"]


def plain_gift(n: int) -> str:
    """N questions of every GIFT kind, deterministic, as a teacher's or Moodle's export would hold them."""
    kinds = [
        lambda i: (f"::conv{i}::[markdown]一个 3×3 卷积（输入 {i % 64 + 1} 通道）的感受野是多少？"
                   "{=3 #对：单层 3×3 ~5 #那是 5×5 ~%-50%1 #太小}"),
        lambda i: f"::bn{i}:: BN 在推理时使用滑动平均的统计量（题 {i}）。{{T#对的#推理时不再用当前 batch}}",
        lambda i: f"::act{i}::ReLU 的全称是？{{=Rectified Linear Unit =%50%rectifier =*linear unit*}}",
        lambda i: ("::match" + str(i) + "::把每种归一化与它的统计维度配对。{=BN -> 同一通道跨 batch "
                   "=LN -> 同一样本的所有通道 =IN -> 同一样本同一通道 =GN -> 同一样本的一组通道}"),
        lambda i: f"::num{i}::$3\\times3$ 卷积 {i % 9 + 1} 层 stride 1 的感受野？{{#{2 * (i % 9 + 1) + 1}:0}}",
        lambda i: f"::range{i}::一个合理的初始学习率（Adam）在哪个范围？{{#0.0001..0.01}}",
        lambda i: f"::multi{i}::哪些是正则化方法？{{~%50%Dropout ~%50%权重衰减 ~%-100%增大学习率}}\n####都能降低过拟合。",
        lambda i: f"::essay{i}::[html]<p>讲讲 <b>过拟合</b> 的原因与对策（{i}）。</p>{{}}\n####数据、模型容量、正则化。",
        lambda i: f"反向传播的梯度 {{~爆炸 =消失 ~不变}} 是深层 sigmoid 网络的典型问题（{i}）。",
        lambda i: f"::desc{i}::下面几题关于检测（第 {i} 段）。",
        lambda i: f"::esc{i}::转义：\\{{a\\}} \\= \\~ \\# \\: 都是普通字符？{{TRUE}}",
    ]
    out = ["// a synthetic GIFT file for bench/bench_formats.py", ""]
    for i in range(n):
        if i % 500 == 0:
            out += [f"$CATEGORY: $course$/top/面经/第{i // 500}部分", ""]
        out += [kinds[i % len(kinds)](i), ""]
    return "\n".join(out)


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, str, float]:
    """Wall seconds, this child's own peak RSS (MB, from wait4), its output and its CPU seconds (user +
    system: what a busy machine does not inflate), for one fresh process."""
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}):\n{output[-3000:]}")
    return wall, usage.ru_maxrss / 1024, output, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=10_000)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    sys.path.insert(0, str(REPO))
    import httpx
    from harness import start_serve  # bench/harness.py, beside this script

    from app.content.loader import load_content
    from app.formats.registry import EXPORT_FORMATS, export_questions

    with tempfile.TemporaryDirectory(prefix="bench-formats-") as tmp:
        tmpdir = Path(tmp)
        plain = tmpdir / "plain.gift"
        plain.write_text(plain_gift(args.questions), encoding="utf-8")
        content = load_content(REPO / "content")
        titles = {b.id: b.title for b in content.banks}
        own = tmpdir / "own.gift"
        reps = -(-args.questions // len(content.questions))
        # The bundled questions, repeated to N, as Mianjing's export writes them (ids made unique per copy).
        many = [dataclasses.replace(q, id=f"{q.id}-{k}", followups=()) for k in range(reps) for q in content.questions]
        own.write_bytes(export_questions(many[: args.questions], "gift", bank_titles=titles))

        print(f"## import of {args.questions:,} questions (fresh `mianjing content import` process each)\n")
        print("| file | size | wall | CPU | peak RSS | summary |\n|---|---:|---:|---:|---:|---|")
        for name, path in (("plain GIFT (other systems)", plain), ("Mianjing's own GIFT export", own)):
            out_dir = tmpdir / f"out-{path.stem}"
            wall, rss, output, cpu = run([*MIANJING, "content", "import", str(path), "--format", "gift", "--bank",
                                     f"bench-{path.stem}", "--out", str(out_dir)], env)
            summary = output.strip().splitlines()[-1]
            print(f"| {name} | {path.stat().st_size / 1e6:.1f} MB | {wall:.2f} s | {cpu:.2f} s | {rss:.0f} MB | "
                  f"{summary[:90]} |")

        print("\n## export of every bundled bank "
              f"({len(content.questions)} questions, {len(content.banks)} banks)\n")
        print("| format | admin download (HTTP) | `mianjing content export` (fresh process) | exporter alone | size |\n"
              "|---|---:|---:|---:|---:|")
        serve_env = {**env, "MIANJING_ADMIN_TOKEN": "bench-admin-token", "MIANJING_ENV": "development",
                     "MIANJING_DATABASE_URL": f"sqlite:///{tmpdir / 'serve.db'}"}
        proc, base = start_serve(REPO, serve_env, workers=1)
        totals = [0.0, 0.0, 0.0]
        try:
            for fmt in EXPORT_FORMATS:
                started = time.perf_counter()
                got = httpx.get(f"{base}/api/v1/admin/banks/all/export", params={"format": fmt}, timeout=60,
                                headers={"Authorization": "Bearer bench-admin-token"})
                http = time.perf_counter() - started
                got.raise_for_status()
                wall, _, _, _ = run([*MIANJING, "content", "export", "--format", fmt, "--out",
                                  str(tmpdir / f"all.{fmt}")], env)
                started = time.perf_counter()
                data = export_questions(content.questions, fmt, bank_titles=titles)
                alone = time.perf_counter() - started
                for k, v in enumerate((http, wall, alone)):
                    totals[k] += v
                print(f"| {fmt} | {http:.2f} s | {wall:.2f} s | {alone:.2f} s | {len(data) / 1e3:.0f} kB |")
        finally:
            proc.terminate()
            proc.wait(10)
        print(f"| **all formats** | **{totals[0]:.2f} s** | **{totals[1]:.2f} s** | **{totals[2]:.2f} s** | |")


if __name__ == "__main__":
    main()
