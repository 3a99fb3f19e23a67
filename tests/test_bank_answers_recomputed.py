"""Fixed numeric/shape answers in the bundled banks, recomputed by the scoring engine's calculators.

Every fixed `numeric` / `shape` question whose answer one of the pure calculators in
`app.calculators` can produce is listed in `RECOMPUTE` with the numbers read off its prompt;
the recomputed value must agree with the answer the bank states (shapes exactly, numbers within the
question's own tolerance / rel_tolerance, otherwise exactly). Items no calculator covers are recomputed
from their definitions in `RECOMPUTE_OUTSIDE` (torch for linear algebra) or listed in `NOT_COVERED`, so a
newly added numeric/shape question has to be classified before the suite passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from app.calculators import (
    adam_steps,
    box_iou,
    conv2d_macs,
    conv2d_output_shape,
    conv2d_param_count,
    conv_output_size,
    conv_transpose2d_output_shape,
    inverted_dropout,
    label_smoothing_cross_entropy,
    linear_param_count,
    model_memory,
    pool2d_output_shape,
    pool2d_output_size,
    precision_recall_f1,
    quantize_int8,
    receptive_field,
    softmax_cross_entropy,
)
from app.content.loader import load_content
from app.scoring.check import check_answer, expected_answer
from tests.conftest import REPO

_EPS = 1e-9  # same relative float slack the scorer allows


# --- small compositions of calculator calls ----------------------------------------------------


def _same_padding(kernel_size: int, dilation: int, size: int = 32) -> int:
    """Smallest padding for which a stride-1 conv keeps the spatial size."""
    return next(p for p in range(kernel_size * dilation)
                if conv_output_size(size, kernel_size, 1, p, dilation) == size)


def _lowrank_max_rank(features: int, budget: float) -> int:
    """Largest k with params(features→k) + params(k→features) ≤ budget · params(features→features)."""
    full = linear_param_count(features, features, bias=False)
    return max(k for k in range(1, features + 1)
               if linear_param_count(features, k, bias=False) + linear_param_count(k, features, bias=False)
               <= budget * full)


def _giou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iou = box_iou(a, b)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    union = (area_a + area_b) / (1 + iou)  # inter = iou·union and union = area_a + area_b - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return iou - (hull - union) / hull


def _all_point_ap(matches: str, num_gt: int) -> float:
    """VOC2010+ AP: precision/recall at every rank, monotone precision envelope, area under it."""
    points = []
    tp = fp = 0
    for m in matches:
        tp, fp = tp + (m == "T"), fp + (m == "F")
        if tp:
            precision, recall, _ = precision_recall_f1(tp, fp, num_gt - tp)
        else:
            precision, recall = 0.0, 0.0
        points.append((recall, precision))
    ap, prev_recall = 0.0, 0.0
    for i, (recall, _) in enumerate(points):
        envelope = max(p for _, p in points[i:])
        ap += (recall - prev_recall) * envelope
        prev_recall = recall
    return ap


def _resnet_stem() -> tuple[int, ...]:
    x = conv2d_output_shape((1, 3, 224, 224), 64, 7, stride=2, padding=3)
    return pool2d_output_shape(x, 3, stride=2, padding=1)


def _vit_embed() -> tuple[int, ...]:
    n, c, h, w = conv2d_output_shape((1, 3, 224, 224), 768, 16, stride=16)
    return (n, h * w, c)  # flatten(2).transpose(1, 2)


def _densenet_block(in_channels: int = 64, layers: int = 6, growth: int = 32) -> int:
    total = 0
    for i in range(layers):
        c_in = in_channels + i * growth
        total += conv2d_param_count(c_in, 4 * growth, 1, bias=False)
        total += conv2d_param_count(4 * growth, growth, 3, bias=False)
    return total


def _transformer_encoder_layer(d_model: int = 512, d_ff: int = 2048) -> int:
    attention = 4 * linear_param_count(d_model, d_model)
    ffn = linear_param_count(d_model, d_ff) + linear_param_count(d_ff, d_model)
    layer_norms = 2 * 2 * d_model  # two LayerNorms, gamma + beta each
    return attention + ffn + layer_norms


def _dropout_variance_ratio(p: float) -> float:
    """Var(mask·x·scale) / Var(x) for zero-mean x: keep prob (1-p) times scale²."""
    scale, _ = inverted_dropout(p, 1.0)
    return (1 - p) * scale**2


def _hog_dim() -> int:
    # blocks of 16×16 px sliding by 8 px over a 64×128 window: the pooling-window count formula
    blocks_x = pool2d_output_size(64, 16, 8)
    blocks_y = pool2d_output_size(128, 16, 8)
    return blocks_x * blocks_y * (2 * 2) * 9


# --- the table ---------------------------------------------------------------------------------

RECOMPUTE: dict[str, Callable[[], object]] = {
    # shapes
    "conv-shape-fixed": lambda: conv2d_output_shape((2, 16, 37, 37), 32, 3, stride=2),
    "conv-dilated-shape": lambda: conv2d_output_shape((1, 64, 56, 56), 64, 3, padding=1, dilation=2),
    "conv-transpose-fixed": lambda: conv_transpose2d_output_shape(
        (1, 128, 16, 16), 64, 3, stride=2, padding=1, output_padding=1),
    "conv-pool-ceil-fixed": lambda: pool2d_output_shape((1, 64, 112, 112), 3, stride=2, ceil_mode=True),
    "net-alexnet-conv1-shape": lambda: conv2d_output_shape((1, 3, 227, 227), 96, 11, stride=4),
    "net-vgg-first-shape": lambda: conv2d_output_shape((1, 3, 224, 224), 64, 3, padding=1),
    "net-resnet-stem-shape": _resnet_stem,
    "seg-upsample-shape": lambda: conv_transpose2d_output_shape((1, 21, 16, 16), 21, 4, stride=2, padding=1),
    "tf-vit-embed-shape": _vit_embed,
    # padding / receptive fields / sliding windows
    "conv-same-padding": lambda: _same_padding(5, 3),
    "conv-rf-dilated": lambda: receptive_field([
        {"kernel_size": 3, "stride": 1, "dilation": 1},
        {"kernel_size": 3, "stride": 1, "dilation": 2},
        {"kernel_size": 3, "stride": 1, "dilation": 4},
    ]),
    "conv-rf-mixed": lambda: receptive_field([
        {"kernel_size": 7, "stride": 2},
        {"kernel_size": 3, "stride": 2},
        {"kernel_size": 3, "stride": 1},
        {"kernel_size": 3, "stride": 2},
        {"kernel_size": 3, "stride": 1, "dilation": 2},
    ]),
    "iv-vit-tokens": lambda: math.prod(conv2d_output_shape((1, 3, 224, 224), 768, 16, stride=16)[2:]) + 1,
    "img-hog-dim-numeric": _hog_dim,
    # parameter counts
    "conv-group-params": lambda: conv2d_param_count(64, 128, 3, groups=4),
    "deploy-prune-channel": lambda: (conv2d_param_count(128, 128, 3, bias=False)
                                     + conv2d_param_count(128, 256, 3, bias=False)),
    "deploy-lowrank": lambda: _lowrank_max_rank(4096, 1 / 4),
    "net-vgg-fc6-params": lambda: linear_param_count(512 * 7 * 7, 4096),
    "net-resnet-bottleneck-params": lambda: (conv2d_param_count(256, 64, 1, bias=False)
                                             + conv2d_param_count(64, 64, 3, bias=False)
                                             + conv2d_param_count(64, 256, 1, bias=False)),
    "net-resnet-downsample-params": lambda: (conv2d_param_count(256, 128, 1, bias=False)
                                             + conv2d_param_count(128, 128, 3, bias=False)
                                             + conv2d_param_count(128, 512, 1, bias=False)
                                             + conv2d_param_count(256, 512, 1, bias=False)),
    "net-densenet-block-params": _densenet_block,
    "net-senet-params": lambda: linear_param_count(256, 256 // 16) + linear_param_count(256 // 16, 256),
    "net-mbv2-block-params": lambda: (conv2d_param_count(24, 24 * 6, 1, bias=False)
                                      + conv2d_param_count(24 * 6, 24 * 6, 3, groups=24 * 6, bias=False)
                                      + conv2d_param_count(24 * 6, 24, 1, bias=False)),
    "tf-attn-params": lambda: 4 * linear_param_count(768, 768),
    "tf-layer-params": _transformer_encoder_layer,
    "tf-vit-patch-params": lambda: conv2d_param_count(3, 768, 16),
    # MACs / FLOPs
    "conv-macs-fixed": lambda: 2 * conv2d_macs(64, 128, 56, 56, 3, padding=1),
    "net-inception-reduce-macs": lambda: (conv2d_macs(192, 16, 28, 28, 1)
                                          + conv2d_macs(16, 32, 28, 28, 5, padding=2)),
    # boxes, metrics, softmax, dropout
    "det-giou-numeric": lambda: _giou((0, 0, 2, 2), (3, 0, 5, 2)),
    "det-ap-numeric": lambda: _all_point_ap("TFTFF", num_gt=3),
    "metric-micro-macro": lambda: (precision_recall_f1(90, 10, 10)[2] + precision_recall_f1(1, 9, 1)[2]) / 2,
    "seg-dice-numeric": lambda: precision_recall_f1(20, 30 - 20, 40 - 20)[2],  # Dice = F1 over pixels
    "deploy-distill-temp": lambda: softmax_cross_entropy([5 / 4, 2 / 4, 1 / 4], 1)[0],
    "reg-dropout-variance-numeric": lambda: _dropout_variance_ratio(0.5),
    # quantisation, memory, optimiser state, label smoothing
    "deploy-quant-asym": lambda: quantize_int8(1.5, -1.0, 3.0, "affine")["q"],
    "deploy-quant-sym": lambda: quantize_int8(0.2371, -0.635, 0.635, "symmetric")["dequant"],
    "deploy-model-size": lambda: model_memory(25_557_032, "float32", "MB"),
    "deploy-size-mixed": lambda: model_memory(4_800_000, "int8", "MB") + model_memory(200_000, "float32", "MB"),
    "opt-adam-first-step": lambda: abs(adam_steps([0.5], lr=0.001)[0]["update"]),
    "opt-label-smoothing-target": lambda: label_smoothing_cross_entropy([0.0] * 10, 0, 0.1)["target_weight"],
}

# --- answers no calculator computes, recomputed here from their definitions ----------------------
# (torch for the linear algebra, plain Python for counting; the item's own tolerance applies)


def _least_squares_at(xs: list[float], ys: list[float], x: float) -> float:
    a = torch.tensor([[xi, 1.0] for xi in xs], dtype=torch.float64)
    w, b = torch.linalg.lstsq(a, torch.tensor(ys, dtype=torch.float64)[:, None]).solution.squeeze().tolist()
    return w * x + b


def _lbp(patch: list[list[int]]) -> int:
    """Original LBP: neighbour >= centre is 1, clockwise from the top-left, which is the highest bit."""
    ring = [(0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0)]
    return sum(1 << (7 - i) for i, (r, c) in enumerate(ring) if patch[r][c] >= patch[1][1])


def _hit_rate(relevant_positions: list[list[int]], k: int) -> float:
    return sum(any(p <= k for p in ps) for ps in relevant_positions) / len(relevant_positions)


def _zca(cov: list[list[float]], x: list[float]) -> list[float]:
    eigenvalues, u = torch.linalg.eigh(torch.tensor(cov, dtype=torch.float64))
    w = u @ torch.diag(eigenvalues.rsqrt()) @ u.T
    out = w @ torch.tensor(x, dtype=torch.float64)
    assert torch.allclose(w @ torch.tensor(cov, dtype=torch.float64) @ w.T, torch.eye(len(x), dtype=torch.float64))
    return out.tolist()


def _dilated_footprint(dilations: list[int], kernel_size: int = 3) -> int:
    """Input pixels with a path of weights to one output pixel of stacked dilated convolutions (stride 1):
    an impulse pushed through all-ones kernels in torch, the nonzero count of what comes out."""
    size = 1 + sum(d * (kernel_size - 1) for d in dilations)
    x = torch.zeros(1, 1, size, size, dtype=torch.float64)
    x[0, 0, size // 2, size // 2] = 1
    for d in dilations:
        x = torch.nn.functional.conv2d(x, torch.ones(1, 1, kernel_size, kernel_size, dtype=torch.float64),
                                       padding=d * (kernel_size - 1) // 2, dilation=d)
    return int((x != 0).sum())


# --- second wave (issue 21): definitions of the items added then ---------------------------------


def _fgsm_l2(shape: tuple[int, ...], eps: float) -> float:
    gradient = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert bool((gradient != 0).all())
    return float((eps * gradient.sign()).norm())


def _ema(start: float, values: list[float], alpha: float) -> float:
    for v in values:
        start = alpha * start + (1 - alpha) * v
    return start


def _sharpen(p: list[float], t: float) -> list[float]:
    q = torch.tensor(p, dtype=torch.float64) ** (1 / t)
    return (q / q.sum()).tolist()


def _info_nce(positive: float, negatives: list[float], tau: float) -> float:
    logits = torch.tensor([positive, *negatives], dtype=torch.float64) / tau
    return float(torch.nn.functional.cross_entropy(logits[None], torch.tensor([0])))


def _dbscan_core_count(points: list[float], eps: float, min_pts: int) -> int:
    """A point is core when at least min_pts points (itself included) lie within eps."""
    return sum(sum(abs(p - q) <= eps for q in points) >= min_pts for p in points)


def _last_merge_height(points: list[float], linkage: Callable[[list[float]], float]) -> float:
    """Agglomerative clustering of 1-D points; the distance of clusters a, b is linkage(pairwise distances)."""
    clusters = [[p] for p in points]
    height = 0.0
    while len(clusters) > 1:
        height, i, j = min((linkage([abs(p - q) for p in a for q in b]), i, j)
                           for i, a in enumerate(clusters) for j, b in enumerate(clusters) if i < j)
        clusters[i] += clusters.pop(j)
    return height


def _gmm_responsibility(x: float, means: list[float], stds: list[float], weights: list[float], k: int) -> float:
    dist = torch.distributions.Normal(torch.tensor(means, dtype=torch.float64), torch.tensor(stds, dtype=torch.float64))
    joint = torch.tensor(weights, dtype=torch.float64) * dist.log_prob(torch.tensor(x, dtype=torch.float64)).exp()
    return float(joint[k] / joint.sum())


def _pca_reconstruction_mse(points: list[list[float]], keep: int) -> float:
    x = torch.tensor(points, dtype=torch.float64)
    x = x - x.mean(0)
    _, _, vh = torch.linalg.svd(x, full_matrices=False)
    basis = vh[:keep].T
    return float(((x - x @ basis @ basis.T) ** 2).sum(1).mean())


def _max_rounding_error(in_range: float, outlier: float) -> float:
    """Symmetric per-tensor INT8 with the scale set by the largest |w|: the worst error inside [-in_range, in_range]."""
    w = torch.linspace(-in_range, in_range, 25401, dtype=torch.float64)
    scale = max(in_range, abs(outlier)) / 127
    return float((w - torch.clamp(torch.round(w / scale), -127, 127) * scale).abs().max())


def _kv_cache_bytes(layers: int, d_model: int, tokens: int, dtype: torch.dtype) -> int:
    return 2 * layers * d_model * tokens * torch.empty((), dtype=dtype).element_size()  # K and V


def _ridge_1d(xs: list[float], ys: list[float], lam: float) -> float:
    x = torch.tensor(xs, dtype=torch.float64)[:, None]
    y = torch.tensor(ys, dtype=torch.float64)[:, None]
    return float(torch.linalg.solve(x.T @ x + lam * torch.eye(1, dtype=torch.float64), x.T @ y))


def _attention_matrix_macs(n: int, d_model: int, heads: int) -> int:
    """MACs of QKᵀ and of the weights times V, all heads, as torch's FLOP counter sees them (2 FLOPs a MAC)."""
    from torch.utils.flop_counter import FlopCounterMode

    q, k, v = (torch.randn(1, heads, n, d_model // heads) for _ in range(3))
    with FlopCounterMode(display=False) as counter:
        (q @ k.transpose(-2, -1)).softmax(-1) @ v
    return counter.get_total_flops() // 2


def _cross_attention_weights_shape() -> tuple[int, ...]:
    attn = torch.nn.MultiheadAttention(512, 8, batch_first=True)
    _, weights = attn(torch.randn(2, 20, 512), torch.randn(2, 50, 512), torch.randn(2, 50, 512),
                      need_weights=True, average_attn_weights=False)
    return tuple(weights.shape)


def _swiglu_params(d_model: int, d_ff: int) -> int:
    ffn = torch.nn.ModuleList([torch.nn.Linear(d_model, d_ff, bias=False), torch.nn.Linear(d_model, d_ff, bias=False),
                               torch.nn.Linear(d_ff, d_model, bias=False)])
    return sum(p.numel() for p in ffn.parameters())


def _param_count_example() -> int:
    model = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.BatchNorm1d(20), torch.nn.ReLU(),
                                torch.nn.Linear(20, 5))
    return sum(p.numel() for p in model.parameters())


def _conv_at_centre(patch: list[list[float]], kernel: list[list[float]]) -> float:
    x = torch.tensor(patch, dtype=torch.float64)[None, None]
    return float(torch.nn.functional.conv2d(x, torch.tensor(kernel, dtype=torch.float64)[None, None]))


def _components(image: list[list[int]], neighbours: list[tuple[int, int]]) -> int:
    """Connected foreground regions by flood fill over the given neighbour offsets."""
    rows, cols = len(image), len(image[0])
    seen: set[tuple[int, int]] = set()
    count = 0
    for start in ((r, c) for r in range(rows) for c in range(cols) if image[r][c]):
        if start in seen:
            continue
        count += 1
        stack = [start]
        seen.add(start)
        while stack:
            r, c = stack.pop()
            for dr, dc in neighbours:
                n = (r + dr, c + dc)
                if 0 <= n[0] < rows and 0 <= n[1] < cols and image[n[0]][n[1]] and n not in seen:
                    seen.add(n)
                    stack.append(n)
    return count


def _opening_count() -> int:
    """Binary opening by a 3×3 square as torch max-pooling: erosion is -maxpool(-x), dilation maxpool(x)."""
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 1:6, 1:6] = 1
    x[0, 0, 3, 6:9] = 1
    x[0, 0, 7, 7] = 1
    assert int(x.sum()) == 29
    # outside the image is background: pad with 0 before eroding
    eroded = -torch.nn.functional.max_pool2d(-torch.nn.functional.pad(x, (1, 1, 1, 1)), 3, stride=1)
    opened = torch.nn.functional.max_pool2d(eroded, 3, stride=1, padding=1)
    return int(opened.sum())


def _eleven_point_ap(matches: str, num_gt: int) -> float:
    """VOC2007 AP: the mean over recall thresholds 0, 0.1, …, 1 of the best precision at recall ≥ threshold."""
    points, tp, fp = [], 0, 0
    for m in matches:
        tp, fp = tp + (m == "T"), fp + (m == "F")
        precision, recall, _ = precision_recall_f1(tp, fp, num_gt - tp) if tp else (0.0, 0.0, 0.0)
        points.append((recall, precision))
    return sum(max([p for r, p in points if r >= t / 10 - _EPS], default=0.0) for t in range(11)) / 11


def _mcc(tp: int, fn: int, fp: int, tn: int) -> float:
    return (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))


def _ece(bins: list[tuple[int, float, int]]) -> float:
    """bins: (samples, mean confidence, correct)."""
    n = sum(size for size, _, _ in bins)
    return sum(size / n * abs(correct / size - conf) for size, conf, correct in bins)


def _iou_of_masks_with_dice(dice: float) -> float:
    """Two masks with the given Dice (a prediction of 8 pixels inside a truth of 12 has Dice 0.8): their IoU."""
    truth = torch.ones(12, dtype=torch.bool)
    pred = torch.arange(12) < 8
    inter, union = (pred & truth).sum().item(), (pred | truth).sum().item()
    assert abs(2 * inter / (pred.sum().item() + truth.sum().item()) - dice) < _EPS
    return inter / union


def _group_norm_statistics(shape: tuple[int, int, int, int], groups: int) -> int:
    """(mean, var) pairs GroupNorm computes: one per sample and group; checked against torch's group_norm."""
    x = torch.randn(shape, dtype=torch.float64)
    grouped = x.reshape(shape[0], groups, -1)
    mean, var = grouped.mean(-1, keepdim=True), grouped.var(-1, unbiased=False, keepdim=True)
    ours = ((grouped - mean) / (var + 1e-5).sqrt()).reshape(shape)
    assert torch.allclose(ours, torch.nn.functional.group_norm(x, groups))
    return mean.numel()


def _adain(x: float, content: tuple[float, float], style: tuple[float, float]) -> float:
    (mu_c, sigma_c), (mu_s, sigma_s) = content, style
    return sigma_s * (x - mu_c) / sigma_c + mu_s


def _panoptic_quality(tp_ious: list[float], fp: int, fn: int) -> float:
    sq = sum(tp_ious) / len(tp_ious)
    rq = len(tp_ious) / (len(tp_ious) + fp / 2 + fn / 2)
    return sq * rq


def _softmax_ce_logit_grad(logits: list[float], target: int, k: int) -> float:
    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.cross_entropy(z[None], torch.tensor([target])).backward()
    return float(z.grad[k])


def _warmup_cosine(epoch: int, peak: float, warmup: int, total: int) -> float:
    """Linear warmup then cosine to 0, as torch's LinearLR + CosineAnnealingLR chained by SequentialLR."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=peak)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=1e-12, end_factor=1.0, total_iters=warmup),
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup)], milestones=[warmup])
    for _ in range(epoch):
        opt.step()
        sched.step()
    return opt.param_groups[0]["lr"]


def _rmsprop_first_step(grad: float, lr: float, alpha: float) -> float:
    param = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = torch.optim.RMSprop([param], lr=lr, alpha=alpha, eps=1e-12)
    param.grad = torch.tensor([grad], dtype=torch.float64)
    opt.step()
    return 1.0 - float(param.detach())


def _r2(y: list[float], pred: list[float]) -> float:
    t, p = torch.tensor(y, dtype=torch.float64), torch.tensor(pred, dtype=torch.float64)
    return float(1 - ((t - p) ** 2).sum() / ((t - t.mean()) ** 2).sum())


def _poly_kernel_by_features(x: tuple[float, float], z: tuple[float, float]) -> float:
    """(xᵀz + 1)² as the inner product of the explicit degree-2 feature maps; both ways must agree."""
    def phi(u: tuple[float, float]) -> torch.Tensor:
        r = math.sqrt(2)
        return torch.tensor([u[0] ** 2, u[1] ** 2, r * u[0] * u[1], r * u[0], r * u[1], 1.0], dtype=torch.float64)
    by_features = float(phi(x) @ phi(z))
    assert math.isclose(by_features, (x[0] * z[0] + x[1] * z[1] + 1) ** 2)
    return by_features


def _variance_of_mean(n: int, var: float, rho: float) -> float:
    cov = torch.full((n, n), rho * var, dtype=torch.float64)
    cov.fill_diagonal_(var)
    w = torch.full((n,), 1 / n, dtype=torch.float64)
    return float(w @ cov @ w)


def _resnet50_layer3() -> tuple[int, ...]:
    """Stem, then each stage's first block: its 3×3 conv carries the stride (torchvision), 1×1 to 4× width."""
    x = _resnet_stem()
    for width, stride in ((64, 1), (128, 2), (256, 2)):
        x = conv2d_output_shape(x, width, 1)
        x = conv2d_output_shape(x, width, 3, stride=stride, padding=1)
        x = conv2d_output_shape(x, 4 * width, 1)
    return x


def _grid_cells(size: int, strides: list[int]) -> int:
    """Positions of stride-s feature maps of a size×size input (stride-s 1×1 convolutions: FPN/YOLO levels)."""
    return sum(conv_output_size(size, s, s) ** 2 for s in strides)


def _shape_of(module: torch.nn.Module, *shape: int) -> tuple[int, ...]:
    with torch.no_grad():
        return tuple(module(torch.zeros(shape)).shape)


def _deeplab_os8_logits(size: int, classes: int) -> tuple[int, ...]:
    """ResNet stem and layer2 keep their strides, layer3/4 are dilated (stride 1): output stride 8."""
    x = conv2d_output_shape((1, 3, size, size), 64, 7, stride=2, padding=3)
    x = pool2d_output_shape(x, 3, stride=2, padding=1)
    x = conv2d_output_shape(x, 512, 3, stride=2, padding=1)                # layer2's first block
    x = conv2d_output_shape(x, 1024, 3, stride=1, padding=2, dilation=2)  # layer3
    x = conv2d_output_shape(x, 2048, 3, stride=1, padding=4, dilation=4)  # layer4
    return conv2d_output_shape(x, classes, 1)


def _vgg16_adaptive(h: int, w: int) -> tuple[int, ...]:
    x = (1, 512, h, w)
    for _ in range(5):  # the 3×3 padding-1 convolutions keep the size; five 2×2 pools halve it
        x = pool2d_output_shape(x, 2, stride=2)
    with torch.no_grad():
        return tuple(torch.nn.AdaptiveAvgPool2d((7, 7))(torch.zeros(x)).shape)


def _inception_3a() -> tuple[int, ...]:
    nn = torch.nn
    branches = [nn.Conv2d(192, 64, 1),
                nn.Sequential(nn.Conv2d(192, 96, 1), nn.Conv2d(96, 128, 3, padding=1)),
                nn.Sequential(nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding=2)),
                nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(192, 32, 1))]
    x = torch.zeros(1, 192, 28, 28)
    with torch.no_grad():
        return tuple(torch.cat([b(x) for b in branches], dim=1).shape)


def _unet_concat() -> tuple[int, ...]:
    with torch.no_grad():
        up = torch.nn.ConvTranspose2d(512, 256, 2, stride=2)(torch.zeros(1, 512, 28, 28))
        return tuple(torch.cat([up, torch.zeros(1, 256, 56, 56)], dim=1).shape)


def _swin_patch_merging(h: int, w: int, c: int) -> tuple[int, ...]:
    x = torch.zeros(1, h * w, c).view(1, h, w, c)
    x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
    with torch.no_grad():
        x = torch.nn.Linear(4 * c, 2 * c, bias=False)(torch.nn.LayerNorm(4 * c)(x))
    return tuple(x.view(1, -1, 2 * c).shape)


def _pyr_down_size(h: int, w: int, times: int) -> tuple[int, ...]:
    """cv2.pyrDown as a 5×5 Gaussian with stride 2 and padding 2: ⌈H/2⌉ × ⌈W/2⌉."""
    x = torch.zeros(1, 1, h, w)
    g = torch.tensor([1.0, 4, 6, 4, 1])
    kernel = (torch.outer(g, g) / 256)[None, None]
    for _ in range(times):
        x = torch.nn.functional.conv2d(x, kernel, stride=2, padding=2)
    return tuple(x.shape[2:])


def _roi_features_shape(features: tuple[int, ...], boxes_per_image: list[int], out: int) -> tuple[int, ...]:
    """RoIAlign's layout without torchvision: every box of every image pooled to out×out, boxes stacked."""
    x = torch.zeros(features)
    crops = [torch.nn.functional.adaptive_avg_pool2d(x[i:i + 1, :, 5:20, 5:30], out)
             for i, count in enumerate(boxes_per_image) for _ in range(count)]
    return tuple(torch.cat(crops).shape)


def _attn_mask_per_head_shape() -> tuple[int, ...]:
    """The 3-D mask nn.MultiheadAttention accepts: it must run with it, and a per-head mask must matter."""
    attn = torch.nn.MultiheadAttention(512, 8, batch_first=True)
    q, kv = torch.randn(2, 20, 512), torch.randn(2, 50, 512)
    mask = torch.zeros(2 * 8, 20, 50, dtype=torch.bool)
    mask[0, :, 1:] = True  # sample 0, head 0 may only look at key 0
    _, w = attn(q, kv, kv, attn_mask=mask, need_weights=True, average_attn_weights=False)
    assert torch.allclose(w[0, 0, :, 0], torch.ones(20)) and not torch.allclose(w[0, 1, :, 0], torch.ones(20))
    return tuple(mask.shape)


def _swin_relative_bias_table(window: int, heads: int) -> tuple[int, ...]:
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    rel = coords[:, :, None] - coords[:, None, :]  # (2, M², M²) relative offsets
    distinct = {tuple(p) for p in rel.permute(1, 2, 0).reshape(-1, 2).tolist()}
    return (len(distinct), heads)


def _mbv2_after_depthwise() -> tuple[int, ...]:
    nn = torch.nn
    block = nn.Sequential(nn.Conv2d(24, 144, 1, bias=False), nn.Conv2d(144, 144, 3, stride=2, padding=1, groups=144))
    return _shape_of(block, 1, 24, 56, 56)


def _grad_cam_max() -> float:
    """Grad-CAM through autograd: a class score linear in the maps with the stated gradients."""
    maps = torch.tensor([[[1.0, 2], [0, 1]], [[0, 1], [3, 0]]], dtype=torch.float64, requires_grad=True)
    grads = torch.tensor([[[0.2, 0.2], [0.2, 0.2]], [[-0.1, 0.1], [-0.3, -0.1]]], dtype=torch.float64)
    (maps * grads).sum().backward()  # d score / d maps = grads
    alpha = maps.grad.mean(dim=(1, 2))
    return float(torch.relu((alpha[:, None, None] * maps.detach()).sum(0)).max())


def _kl(p: list[float], q: list[float]) -> float:
    pt, qt = torch.tensor(p, dtype=torch.float64), torch.tensor(q, dtype=torch.float64)
    kl = float(torch.nn.functional.kl_div(qt.log(), pt, reduction="sum"))  # torch's KL(p || q)
    assert math.isclose(kl, float(-(pt * qt.log()).sum() + (pt * pt.log()).sum()))  # = H(p, q) − H(p)
    return kl


def _mean_recall_at_k(users: list[tuple[int, int]]) -> float:
    """users: (relevant items, of them in the top k); the recall of each user, averaged over users."""
    return sum(hits / relevant for relevant, hits in users) / len(users)


def _bic(params: int, log_likelihood: float, n: int) -> float:
    return params * math.log(n) - 2 * log_likelihood


def _cohen_kappa(agree: int, n: int, yes_a: int, yes_b: int) -> float:
    p_o = agree / n
    p_e = (yes_a / n) * (yes_b / n) + (1 - yes_a / n) * (1 - yes_b / n)
    return (p_o - p_e) / (1 - p_e)


def _focal_loss(p_t: float, alpha_t: float, gamma: float) -> float:
    """α_t (1 − p_t)^γ times −ln p_t, the last taken from torch's binary cross-entropy."""
    p = torch.tensor(p_t, dtype=torch.float64)
    bce = torch.nn.functional.binary_cross_entropy(p, torch.tensor(1.0, dtype=torch.float64))
    return float(alpha_t * (1 - p) ** gamma * bce)


def _bilateral_weight(distance: float, difference: float, sigma_s: float, sigma_r: float) -> float:
    return math.exp(-distance**2 / (2 * sigma_s**2)) * math.exp(-difference**2 / (2 * sigma_r**2))


def _soft_nms_gaussian(score: float, iou: float, sigma: float) -> float:
    return score * math.exp(-iou**2 / sigma)


def _smoothing_radius(sigma: float, p_a: float, p_b: float) -> float:
    icdf = torch.distributions.Normal(0.0, 1.0).icdf
    return sigma / 2 * float(icdf(torch.tensor(p_a, dtype=torch.float64)) - icdf(torch.tensor(p_b, dtype=torch.float64)))


def _otsu_best_between_variance(histogram: list[int]) -> float:
    h = torch.tensor(histogram, dtype=torch.float64)
    levels = torch.arange(len(histogram), dtype=torch.float64)
    best = 0.0
    for t in range(len(histogram) - 1):
        w0, w1 = h[:t + 1].sum() / h.sum(), h[t + 1:].sum() / h.sum()
        mu0 = (h[:t + 1] * levels[:t + 1]).sum() / h[:t + 1].sum()
        mu1 = (h[t + 1:] * levels[t + 1:]).sum() / h[t + 1:].sum()
        best = max(best, float(w0 * w1 * (mu0 - mu1) ** 2))
    return best


def _winograd_2x2_3x3_products() -> int:
    """F(2×2, 3×3) with Lavin's matrices, checked against torch's conv2d; its products are one 4×4 Hadamard."""
    bt = torch.tensor([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=torch.float64)
    g = torch.tensor([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=torch.float64)
    at = torch.tensor([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    d, k = torch.randn(4, 4, generator=gen, dtype=torch.float64), torch.randn(3, 3, generator=gen, dtype=torch.float64)
    products = (g @ k @ g.T) * (bt @ d @ bt.T)
    out = at @ products @ at.T
    assert torch.allclose(out, torch.nn.functional.conv2d(d[None, None], k[None, None])[0, 0])
    return products.numel()


def _adamw_first_step(theta: float, grad: float, lr: float, weight_decay: float) -> float:
    param = torch.nn.Parameter(torch.tensor([theta], dtype=torch.float64))
    opt = torch.optim.AdamW([param], lr=lr, weight_decay=weight_decay, eps=1e-12)
    param.grad = torch.tensor([grad], dtype=torch.float64)
    opt.step()
    return float(param.detach())


def _hue_degrees(rgb: tuple[int, int, int]) -> float:
    import colorsys

    return 360 * colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[0]


def _uniform_lbp_bins(points: int) -> int:
    """Circular codes with at most two 0/1 transitions, one bin each, plus one bin for all the others."""
    def transitions(code: int) -> int:
        return sum(((code >> i) & 1) != ((code >> ((i + 1) % points)) & 1) for i in range(points))
    return sum(transitions(code) <= 2 for code in range(1 << points)) + 1


def _ssim_window(mu: tuple[float, float], var: tuple[float, float], cov: float, bits: int = 8) -> float:
    c1, c2 = (0.01 * (2**bits - 1)) ** 2, (0.03 * (2**bits - 1)) ** 2
    return ((2 * mu[0] * mu[1] + c1) * (2 * cov + c2)) / ((mu[0] ** 2 + mu[1] ** 2 + c1) * (var[0] + var[1] + c2))


def _rope_dot(m: int, n: int, theta: float) -> float:
    def rotation(angle: float) -> torch.Tensor:
        c, s = math.cos(angle), math.sin(angle)
        return torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    q = k = torch.tensor([1.0, 0.0], dtype=torch.float64)
    dot = float((rotation(m * theta) @ q) @ (rotation(n * theta) @ k))
    assert math.isclose(dot, float((rotation((m + 3) * theta) @ q) @ (rotation((n + 3) * theta) @ k)))
    return dot


def _momentum_terminal_step(lr: float, momentum: float, steps: int = 500) -> float:
    param = torch.nn.Parameter(torch.tensor([0.0], dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=lr, momentum=momentum)
    before = 0.0
    for _ in range(steps):
        before = float(param.detach())
        param.grad = torch.tensor([1.0], dtype=torch.float64)
        opt.step()
    return before - float(param.detach())


def _naive_bayes_posterior(prior: float, likelihoods: list[tuple[float, float]]) -> float:
    """P(class 1 | all features present): likelihoods are (P(f | class 1), P(f | class 0))."""
    joint1 = prior * math.prod(l1 for l1, _ in likelihoods)
    joint0 = (1 - prior) * math.prod(l0 for _, l0 in likelihoods)
    return joint1 / (joint1 + joint0)


def _sigmoid_grad(x: float) -> float:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch.sigmoid(t).backward()
    return float(t.grad)


def _bn_eval(x: float, mean: float, var: float, gamma: float, beta: float) -> float:
    bn = torch.nn.BatchNorm1d(1, eps=0.0).double().eval()
    with torch.no_grad():
        bn.running_mean.fill_(mean)
        bn.running_var.fill_(var)
        bn.weight.fill_(gamma)
        bn.bias.fill_(beta)
        return float(bn(torch.tensor([[x]], dtype=torch.float64)))


def _retina_cls_head(size: int, stride: int, anchors: int, classes: int) -> tuple[int, ...]:
    side = conv_output_size(size, stride, stride)
    x = (1, 256, side, side)
    for _ in range(4):
        x = conv2d_output_shape(x, 256, 3, padding=1)
    return conv2d_output_shape(x, anchors * classes, 3, padding=1)


RECOMPUTE_OUTSIDE: dict[str, Callable[[], object]] = {
    "seg-dilated-gridding": lambda: _dilated_footprint([2, 2, 2]),
    "ml-ls-line-numeric": lambda: _least_squares_at([0, 1, 2, 3], [1, 3, 4, 6], 4),
    "img-lbp-numeric": lambda: _lbp([[6, 5, 2], [7, 6, 1], [9, 8, 7]]),
    "metric-hit-rate-numeric": lambda: _hit_rate([[2, 4], [7], [1, 2, 3], [6], [5, 9]], 5),
    "clu-zca-numeric": lambda: _zca([[2, 1], [1, 2]], [2, 0])[0],
    # second wave (issue 21)
    "adv-fgsm-l2-numeric": lambda: _fgsm_l2((3, 32, 32), 8 / 255),
    "adv-ema-numeric": lambda: _ema(0.5, [1.0, 1.2], 0.9),
    "adv-mixmatch-sharpen-numeric": lambda: _sharpen([0.6, 0.3, 0.1], 0.5)[0],
    "adv-infonce-numeric": lambda: _info_nce(0.8, [0.2, 0.0, -0.4], 0.5),
    "clu-dbscan-core-numeric": lambda: _dbscan_core_count([1, 2, 3, 4, 8, 9, 10, 15], 1.5, 3),
    "clu-complete-linkage-numeric": lambda: _last_merge_height([0, 1, 3, 7], max),
    "quick-num-fp16-max": lambda: float(torch.finfo(torch.float16).max),
    "clu-gmm-resp-numeric": lambda: _gmm_responsibility(1.5, [0, 2], [1, 1], [0.5, 0.5], 1),
    "clu-pca-recon-numeric": lambda: _pca_reconstruction_mse([[2, 2], [-2, -2], [1, -1], [-1, 1]], 1),
    "clu-color-quant-numeric": lambda: (512 * 512 * 24) / (512 * 512 * math.log2(16) + 16 * 24),
    "deploy-quant-outlier-numeric": lambda: _max_rounding_error(1.27, 12.7),
    "deploy-kv-cache-numeric": lambda: _kv_cache_bytes(32, 4096, 4096, torch.float16) / 2**30,
    "deploy-roofline-numeric": lambda: min(100, 20 * 1),  # min(peak TFLOPS, intensity FLOP/B × TB/s)
    "reg-l1-prox-numeric": lambda: int((torch.nn.functional.softshrink(
        torch.tensor([0.8, -0.2, -0.5, 0.1, 0.25]), 0.1 * 3) == 0).sum()),
    "reg-ridge-numeric": lambda: _ridge_1d([1, 2], [2, 4], 5),
    "reg-mixup-loss-numeric": lambda: float(torch.nn.functional.cross_entropy(
        torch.tensor([[0.6, 0.4]], dtype=torch.float64).log(), torch.tensor([[0.7, 0.3]], dtype=torch.float64))),
    "reg-stochastic-depth-numeric": lambda: sum(1 - (block / 54) * (1 - 0.5) for block in range(1, 55)),
    "tf-attn-flops-numeric": lambda: _attention_matrix_macs(197, 768, 12),
    "tf-cross-attn-shape": _cross_attention_weights_shape,
    "tf-swiglu-params": lambda: _swiglu_params(4096, 11008),
    "eng-broadcast-shape": lambda: tuple((torch.zeros(3, 1, 5) + torch.zeros(4, 1)).shape),
    "eng-param-count-numeric": _param_count_example,
    "img-gamma-numeric": lambda: 255 * (64 / 255) ** 0.5,
    "img-laplacian-numeric": lambda: _conv_at_centre([[20, 30, 20], [30, 60, 40], [20, 50, 20]],
                                                     [[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "img-separable-numeric": lambda: (7 * 7) / (7 + 7),
    "img-components-numeric": lambda: _components(
        [[1, 1, 0, 0, 1], [1, 0, 0, 1, 0], [0, 0, 1, 0, 0], [0, 1, 0, 0, 1], [1, 0, 0, 1, 1]],
        [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]),
    "img-opening-numeric": _opening_count,
    "metric-dice-iou-numeric": lambda: _iou_of_masks_with_dice(0.8),
    "metric-mcc-numeric": lambda: _mcc(40, 10, 30, 920),
    "metric-ece-numeric": lambda: _ece([(4, 0.65, 2), (6, 0.95, 5)]),
    "metric-ap-11point-numeric": lambda: _eleven_point_ap("TFTFT", num_gt=4),
    "norm-ln-numeric": lambda: float(torch.nn.functional.layer_norm(torch.tensor([1.0, 2.0, 3.0, 6.0]), (4,))[3]),
    "norm-adain-numeric": lambda: _adain(4, (2, 2), (10, 3)),
    "norm-gn-stats-numeric": lambda: _group_norm_statistics((4, 64, 32, 32), 8),
    "seg-x0-pred-numeric": lambda: (1.0 - math.sqrt(1 - 0.64) * 0.5) / math.sqrt(0.64),
    "seg-cfg-numeric": lambda: 0.2 + 7.5 * (0.4 - 0.2),
    "seg-pq-numeric": lambda: _panoptic_quality([0.9, 0.8, 0.7], fp=1, fn=1),
    "act-gelu-numeric": lambda: float(torch.nn.functional.gelu(torch.tensor(-1.0, dtype=torch.float64))),
    "act-softmax-ce-grad-numeric": lambda: _softmax_ce_logit_grad([2, 1, 0], 0, 0),
    "opt-warmup-cosine-numeric": lambda: _warmup_cosine(24, 0.1, 5, 100),
    "opt-rmsprop-numeric": lambda: _rmsprop_first_step(2.0, 0.01, 0.9),
    "ml-r2-numeric": lambda: _r2([1, 2, 3, 4], [1.5, 2, 2.5, 4]),
    "ml-gbdt-residual-numeric": lambda: (sum([3, 5, 10]) / 3) + 0.1 * (10 - sum([3, 5, 10]) / 3),
    "ml-hinge-numeric": lambda: float(torch.clamp(1 - torch.tensor([1, -1, 1.0]) * torch.tensor([0.3, 0.5, 2.0]),
                                                  min=0).sum()),
    "ml-poly-kernel-numeric": lambda: _poly_kernel_by_features((1, 2), (3, 1)),
    "ml-bagging-variance-numeric": lambda: _variance_of_mean(10, 1.0, 0.5),
    "net-resnet50-depth-numeric": lambda: 3 * sum([3, 4, 6, 3]),
    "net-resnet-layer3-shape": _resnet50_layer3,
    "det-retina-anchors-numeric": lambda: 9 * _grid_cells(640, [8, 16, 32, 64, 128]),
    "det-yolo-box-count-numeric": lambda: 3 * _grid_cells(416, [32, 16, 8]),
    "det-box-encode-numeric": lambda: math.log(100 / 50),
    "conv-unfold-shape": lambda: tuple(torch.nn.functional.unfold(torch.zeros(1, 3, 32, 32), 3, padding=1).shape),
    "conv-conv1d-shape": lambda: _shape_of(torch.nn.Conv1d(128, 256, 5, stride=2), 8, 128, 100),
    "conv-conv3d-shape": lambda: _shape_of(torch.nn.Conv3d(3, 64, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3)),
                                           1, 3, 16, 112, 112),
    "seg-subpixel-channels": lambda: next(c for c in range(1, 100) if c % 9 == 0 and _shape_of(
        torch.nn.PixelShuffle(3), 1, c, 4, 4) == (1, 3, 12, 12)),
    "seg-dcgan-gen-shape": lambda: _shape_of(torch.nn.Sequential(torch.nn.ConvTranspose2d(100, 512, 4, 1, 0),
                                                                 torch.nn.ConvTranspose2d(512, 256, 4, 2, 1)),
                                             1, 100, 1, 1),
    "seg-unet-concat-shape": _unet_concat,
    "seg-deeplab-os-shape": lambda: _deeplab_os8_logits(512, 21),
    "net-adaptive-pool-shape": lambda: _vgg16_adaptive(416, 544),
    "net-inception-concat-shape": _inception_3a,
    "tf-head-split-shape": lambda: tuple(torch.zeros(2, 197, 768).view(2, 197, 12, 64).transpose(1, 2).shape),
    "tf-swin-merge-shape": lambda: _swin_patch_merging(56, 56, 96),
    "tf-detr-logits-shape": lambda: _shape_of(torch.nn.Linear(256, 91 + 1), 2, 100, 256),
    "det-yolo-reshape-shape": lambda: tuple(torch.zeros(1, 255, 13, 13).view(1, 3, 85, 13, 13)
                                            .permute(0, 1, 3, 4, 2).shape),
    "eng-stack-cat-shape": lambda: tuple(torch.stack([torch.zeros(2, 4)] * 3, dim=1).shape),
    "eng-einsum-shape": lambda: tuple(torch.einsum("bhqd,bhkd->bhqk", torch.zeros(2, 8, 10, 64),
                                                   torch.zeros(2, 8, 20, 64)).shape),
    "img-pyramid-shape": lambda: _pyr_down_size(480, 640, 3),
    "conv-dw-weight-shape": lambda: tuple(torch.nn.Conv2d(32, 32, 3, stride=2, padding=1, groups=32).weight.shape),
    "det-roi-align-shape": lambda: _roi_features_shape((2, 256, 50, 50), [60, 40], 7),
    "det-p6-shape": lambda: _shape_of(torch.nn.Conv2d(2048, 256, 3, stride=2, padding=1), 1, 2048, 7, 7),
    "tf-relpos-table-shape": lambda: _swin_relative_bias_table(7, 3),
    "tf-attn-mask-3d-shape": _attn_mask_per_head_shape,
    "tf-bert-mlm-shape": lambda: _shape_of(torch.nn.Linear(768, 30522), 8, 128, 768),
    "seg-maskrcnn-mask-shape": lambda: _shape_of(torch.nn.Sequential(
        torch.nn.ConvTranspose2d(256, 256, 2, stride=2), torch.nn.Conv2d(256, 80, 1)), 100, 256, 14, 14),
    "norm-bn-mean-shape": lambda: tuple(torch.zeros(8, 64, 32, 32).mean(dim=(0, 2, 3), keepdim=True).shape),
    "eng-adv-index-shape": lambda: tuple(torch.zeros(10, 20, 30)[[0, 1, 2], :, [3, 4, 5]].shape),
    "net-mbv2-dw-shape": _mbv2_after_depthwise,
    "net-gradcam-numeric": _grad_cam_max,
    "opt-kl-ce-numeric": lambda: _kl([0.5, 0.5], [0.8, 0.2]),
    "metric-recall-at-k-numeric": lambda: _mean_recall_at_k([(4, 2), (1, 1), (2, 0)]),
    "clu-bic-numeric": lambda: _bic(25, -990, 1000) - _bic(10, -1000, 1000),
    "metric-kappa-numeric": lambda: _cohen_kappa(80, 100, 60, 50),
    "det-focal-numeric": lambda: _focal_loss(0.9, 1 - 0.25, 2),
    "img-bilateral-numeric": lambda: _bilateral_weight(1, 20, 1, 20),
    "det-soft-nms-numeric": lambda: _soft_nms_gaussian(0.8, 0.6, 0.5),
    "adv-smoothing-numeric": lambda: _smoothing_radius(0.5, 0.9, 0.1),
    "img-otsu-numeric": lambda: _otsu_best_between_variance([4, 2, 2, 4]),
    "conv-winograd-numeric": _winograd_2x2_3x3_products,
    "opt-adamw-numeric": lambda: _adamw_first_step(1.0, 0.5, 0.01, 0.1),
    "img-hsv-numeric": lambda: _hue_degrees((255, 128, 0)),
    "img-lbp-uniform-numeric": lambda: _uniform_lbp_bins(16),
    "metric-ssim-numeric": lambda: _ssim_window((100, 110), (400, 300), 300),
    "tf-rope-numeric": lambda: _rope_dot(2, 1, math.pi / 3),
    "opt-momentum-terminal-numeric": lambda: _momentum_terminal_step(0.01, 0.9),
    "ml-nb-numeric": lambda: _naive_bayes_posterior(0.4, [(0.5, 0.1), (0.1, 0.4)]),
    "act-sigmoid-sat-numeric": lambda: _sigmoid_grad(5.0),
    "metric-balanced-acc-numeric": lambda: (40 / (40 + 10) + 920 / (920 + 30)) / 2,
    "norm-bn-eval-numeric": lambda: _bn_eval(5, 3, 4, 2, 1),
    "det-retina-cls-shape": lambda: _retina_cls_head(640, stride=8, anchors=9, classes=80),
}


# Fixed numeric/shape items whose answer none of the calculators computes (plain arithmetic or
# formulas outside the calculator set: init std, quantization, NMS, BCE, image filters, ...).
NOT_COVERED = frozenset({
    "act-sigmoid-deriv-max", "act-sigmoid-chain-numeric", "act-he-std-numeric", "act-xavier-uniform-numeric",
    "act-relu-xavier-numeric", "adv-fgsm-numeric", "adv-pgd-numeric", "adv-fixmatch-mask-numeric",
    "clu-kmeans-step-numeric", "clu-silhouette-numeric", "clu-pca-evr-numeric",
    "det-roi-quant-error", "det-yolov3-head-shape", "det-nms-count",
    "eng-pos-weight-numeric",
    "img-mean-numeric", "img-median-numeric", "img-sobel-numeric", "img-hist-eq-numeric", "img-bilinear-numeric",
    "iv-multilabel-masked-bce",
    "metric-fbeta", "metric-auc-numeric", "metric-topk-numeric", "metric-miou-numeric", "metric-psnr-numeric",
    "metric-mrr-numeric", "metric-ndcg",
    "ml-lr-logloss-numeric", "ml-svm-margin-numeric", "ml-info-gain-numeric", "ml-gini-numeric", "ml-oob-numeric",
    "ml-xgb-leaf-numeric",
    "net-efficientnet-scaling",
    "norm-bn-normalize-numeric", "norm-bn-running-numeric", "norm-bn-fold-numeric",
    "opt-momentum-numeric", "opt-cosine-numeric", "opt-steplr-numeric", "opt-grad-clip-numeric",
    "reg-weight-decay-numeric",
    "seg-vae-kl-numeric", "seg-diffusion-alphabar", "seg-ldm-latent-shape",
    "tf-swin-complexity",
})


@pytest.fixture(scope="module")
def content():
    return load_content(REPO / "content")


@pytest.fixture(scope="module")
def fixed_items(content):
    return {q.id: q for q in content.questions if q.type in ("numeric", "shape")}


def _numbers_agree(value: float, expected: float, tolerance: float, rel_tolerance: float) -> bool:
    diff = abs(value - expected)
    slack = _EPS * max(1.0, abs(expected))
    return diff <= tolerance + slack or (rel_tolerance > 0 and diff <= rel_tolerance * abs(expected) + slack)


@pytest.mark.parametrize("qid", sorted(RECOMPUTE) + sorted(RECOMPUTE_OUTSIDE))
def test_stated_answer_matches_calculator(fixed_items, qid):
    q = fixed_items.get(qid)
    assert q is not None, f"{qid} is not a fixed numeric/shape question in the bundled banks"
    value = (RECOMPUTE.get(qid) or RECOMPUTE_OUTSIDE[qid])()
    where = f"{qid} ({q.file}:{q.line})"
    if q.type == "shape":
        assert tuple(value) == tuple(q.answer), f"{where}: bank says {q.answer}, calculators give {value}"
    else:
        assert isinstance(value, (int, float)), where
        assert _numbers_agree(float(value), float(q.answer), q.tolerance, q.rel_tolerance), (
            f"{where}: bank says {q.answer} (tol {q.tolerance}, rel {q.rel_tolerance}), calculators give {value}"
        )


def test_table_ids_exist_and_are_fixed_numeric_or_shape(content):
    by_id = {q.id: q for q in content.questions}
    for qid in [*RECOMPUTE, *RECOMPUTE_OUTSIDE]:
        assert qid in by_id, f"{qid} in RECOMPUTE no longer exists"
        assert by_id[qid].type in ("numeric", "shape"), f"{qid} is {by_id[qid].type}, not numeric/shape"
    assert not set(RECOMPUTE) & NOT_COVERED and not set(RECOMPUTE_OUTSIDE) & (NOT_COVERED | set(RECOMPUTE))


def test_every_fixed_item_is_classified(fixed_items):
    unclassified = sorted(set(fixed_items) - set(RECOMPUTE) - set(RECOMPUTE_OUTSIDE) - NOT_COVERED)
    assert not unclassified, (
        f"new numeric/shape questions {unclassified}: add a calculator recomputation to RECOMPUTE "
        "or list them in NOT_COVERED")
    stale = sorted(NOT_COVERED - set(fixed_items))
    assert not stale, f"NOT_COVERED lists ids that are no longer numeric/shape questions: {stale}"


def test_stated_answers_score_full_marks(fixed_items):
    for q in fixed_items.values():
        result = check_answer(q, expected_answer(q))
        assert result.score == 1.0, (q.id, result.feedback)
