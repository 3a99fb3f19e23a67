"""The cases of a code item catch the typical wrong solutions: each mistake below is the item's own reference
with one edit (biased for unbiased variance, align_corners swapped, no max subtraction…), judged in the real
sandbox, and must not be accepted. An edit whose text is no longer in the reference fails too, so a changed
reference gets its mistakes reviewed."""

from __future__ import annotations

import pytest

from tests.test_code_problems import CODE_ITEMS, _Loop

# item id -> [(the mistake, text in the reference, what the wrong solution writes instead)]
MISTAKES: dict[str, list[tuple[str, str, str]]] = {
    "code-conv2d": [
        ("flips the kernel (true convolution)", "wg = weight.reshape(", "wg = weight[:, :, ::-1, ::-1].reshape("),
        ("output size without dilation", "ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1",
         "ho = (h + 2 * ph - kh) // sh + 1"),
    ],
    "code-im2col": [
        ("rows ordered (kH, kW, C)", "return cols.reshape(n, c * kh * kw, ho * wo)",
         "return cols.transpose(0, 2, 3, 1, 4, 5).reshape(n, c * kh * kw, ho * wo)"),
        ("windows in column-major order", "return cols.reshape(n, c * kh * kw, ho * wo)",
         "return cols.swapaxes(4, 5).reshape(n, c * kh * kw, ho * wo)"),
    ],
    "code-max-pool2d": [
        ("pads with 0 instead of -inf", "constant_values=-np.inf", "constant_values=0.0"),
        ("stride=None taken as 1", "_pair(kernel_size if stride is None else stride)",
         "_pair(1 if stride is None else stride)"),
    ],
    "code-avg-pool2d": [
        ("always divides by kH·kW", "if count_include_pad:", "if True:"),
        ("never counts the padding", "if count_include_pad:", "if False:"),
    ],
    "code-batch-norm": [
        ("biased variance in the running statistics", "var * m / (m - 1)", "var"),
        ("momentum the wrong way round", "rm = (1 - momentum) * rm + momentum * mean",
         "rm = momentum * rm + (1 - momentum) * mean"),
        ("batch statistics in eval mode", "        mean, var = rm, rv",
         "        mean, var = x.mean(axis=axes), x.var(axis=axes)"),
    ],
    "code-layer-norm": [
        ("variance as E[x²] − E[x]²", "var = (centred ** 2).mean(axis=axes, keepdims=True)",
         "var = (x ** 2).mean(axis=axes, keepdims=True) - x.mean(axis=axes, keepdims=True) ** 2"),
        ("normalises the last axis only", "axes = tuple(range(x.ndim - len(dims), x.ndim))",
         "axes = (x.ndim - 1,)"),
    ],
    "code-inverted-dropout": [
        ("scales by 1 - p at eval time", "        return x.copy()", "        return x * (1 - p)"),
        ("no scaling of kept elements", "x / (1.0 - p)", "x"),
        ("0/0 when p = 1",
         "    if p == 1:\n        return np.zeros_like(x)\n"
         "    return np.where(np.asarray(keep_mask, dtype=bool), x / (1.0 - p), 0.0)",
         "    return x * keep_mask / (1.0 - p)"),
    ],
    "code-softmax-cross-entropy": [
        ("no max subtraction", "z = z - z.max(axis=1, keepdims=True)", "z = z"),
        ("log of the softmax", "log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))",
         "log_probs = np.log(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))"),
        ("smoothing spread over K - 1 classes", "uniform = -log_probs.mean(axis=1)",
         "uniform = (-log_probs.sum(axis=1) - nll) / max(z.shape[1] - 1, 1)"),
    ],
    "code-sigmoid-focal-loss": [
        ("-log(sigmoid) overflows", "ce = np.maximum(x, 0.0) - x * t + np.log1p(e)",
         "ce = -(t * np.log(1 / (1 + np.exp(-x))) + (1 - t) * np.log(1 - 1 / (1 + np.exp(-x))))"),
        ("alpha on the negatives", "loss = (alpha * t + (1 - alpha) * (1 - t)) * loss",
         "loss = ((1 - alpha) * t + alpha * (1 - t)) * loss"),
        ("weights even when alpha < 0", "if alpha >= 0:", "if True:"),
    ],
    "code-scaled-dot-product-attention": [
        ("True taken as masked", "np.where(np.asarray(mask, dtype=bool), scores, -np.inf)",
         "np.where(np.asarray(mask, dtype=bool), -np.inf, scores)"),
        ("-1e9 instead of -inf: a fully masked row averages every value",
         "np.where(np.asarray(mask, dtype=bool), scores, -np.inf)",
         "np.where(np.asarray(mask, dtype=bool), scores, -1e9)"),
        ("no max subtraction", "e = np.exp(scores - top)", "e = np.exp(scores)"),
        ("scaled by 1/E", "/ np.sqrt(q.shape[-1])", "/ q.shape[-1]"),
    ],
    "code-bilinear-resize": [
        ("align_corners swapped", "    if align_corners:", "    if not align_corners:"),
        ("negative source index not clamped", "src = np.maximum((d + 0.5) * (n_in / n_out) - 0.5, 0.0)",
         "src = (d + 0.5) * (n_in / n_out) - 0.5"),
    ],
    "code-roi-align": [
        ("aligned ignored", "offset = 0.5 if aligned else 0.0", "offset = 0.0"),
        ("no minimum size 1 when not aligned",
         "    if not aligned:\n        roi_w, roi_h = np.maximum(roi_w, 1.0), np.maximum(roi_h, 1.0)\n", ""),
        ("samples far outside not zeroed", "    inside = (pos >= -1.0) & (pos <= length)\n",
         "    inside = np.ones(pos.shape, dtype=bool)\n"),
        ("samples on the bin edges", "+ (np.arange(grid)[None, None, :] + 0.5) * size_per_bin[:, None, None] / grid)",
         "+ np.arange(grid)[None, None, :] * size_per_bin[:, None, None] / max(grid - 1, 1))"),
    ],
    "code-sobel": [
        ("flipped kernels (true convolution)", "return gx, gy, np.hypot(gx, gy)", "return -gx, -gy, np.hypot(gx, gy)"),
        ("replicates the border instead of zeros", "p = np.pad(img, 1)", 'p = np.pad(img, 1, mode="edge")'),
        ("|gx| + |gy| as the magnitude", "np.hypot(gx, gy)", "np.abs(gx) + np.abs(gy)"),
    ],
    "code-gaussian-blur": [
        ("symmetric (edge repeated) instead of reflect", 'else "reflect"', 'else "symmetric"'),
        ("kernel not normalised", "    g /= g.sum()\n", "    g /= np.sqrt(2 * np.pi) * sigma\n"),
    ],
    "code-warmup-cosine-lr": [
        ("cosine progress over total_steps", "progress = (t - warmup_steps) / (total_steps - warmup_steps)",
         "progress = (t - warmup_steps) / total_steps"),
        ("warmup from 0", "warm = base_lr * (start_factor + (1.0 - start_factor) * t / warmup_steps)",
         "warm = base_lr * t / warmup_steps"),
    ],
    "code-adam-step": [
        ("no bias correction", "    bias1 = 1 - beta1 ** step\n    bias2 = 1 - beta2 ** step",
         "    bias1 = 1.0\n    bias2 = 1.0"),
        ("eps inside the square root", "denom = np.sqrt(v) / np.sqrt(bias2) + eps", "denom = np.sqrt(v / bias2 + eps)"),
        ("decoupled weight decay (AdamW)", "    if weight_decay:\n        g = g + weight_decay * p\n",
         "    if weight_decay:\n        p = p * (1 - lr * weight_decay)\n"),
    ],
}
ITEMS = {q.id: q for q in CODE_ITEMS}
CASES = [(item, what, old, new) for item, edits in MISTAKES.items() for what, old, new in edits]


@pytest.fixture(scope="module")
def judge() -> _Loop:
    return _Loop()


def test_every_mistake_names_a_code_item() -> None:
    assert set(MISTAKES) <= set(ITEMS)


@pytest.mark.parametrize(("item", "what", "old", "new"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_the_cases_catch_the_mistake(judge, item, what, old, new) -> None:
    q = ITEMS[item]
    assert q.code.reference.count(old) == 1, f"{what}: the edited text is not (once) in the reference"
    verdict = judge.call(judge.engine.judge(q.code, q.code.reference.replace(old, new), "submit"))
    assert verdict["status"] != "accepted", f"{item}: {what} passes every case"
