"""The plain math of the second family of calculators, with PyTorch semantics: attention and transformer
layers, RNNs, ViT tokens, PixelShuffle / unfold / interpolate shapes, ResNet/FPN feature maps and anchors,
GIoU/DIoU, Dice, learning-rate schedules, Adam, label smoothing, int8 quantisation and memory footprints.
tests/test_calculators.py checks each against torch; like formulas.py this module imports no torch and
nothing of the app.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .formulas import (
    InvalidConfig,
    _at_least,
    _box_area,
    _box_intersection,
    _input_shape,
    _pair,
    box_iou,
    conv2d_param_count,
    conv_output_size,
    linear_param_count,
    pool2d_output_size,
)

# --------------------------------------------------------------------------------------------
# Transformers and RNNs
# --------------------------------------------------------------------------------------------


def _heads(embed_dim: int, num_heads: int) -> int:
    _at_least(embed_dim, 1, "embed_dim")
    _at_least(num_heads, 1, "num_heads")
    if embed_dim % num_heads:
        raise InvalidConfig(f"embed_dim={embed_dim} 必须能被 num_heads={num_heads} 整除")
    return embed_dim // num_heads


def mha_param_counts(embed_dim: int, num_heads: int, bias: bool = True) -> dict[str, int]:
    """nn.MultiheadAttention (kdim = vdim = embed_dim): in_proj (Q, K, V stacked) + out_proj."""
    _heads(embed_dim, num_heads)
    in_proj = 3 * embed_dim * embed_dim + (3 * embed_dim if bias else 0)
    out_proj = linear_param_count(embed_dim, embed_dim, bias)
    return {"in_proj": in_proj, "out_proj": out_proj, "total": in_proj + out_proj}


def transformer_encoder_layer_params(d_model: int, nhead: int, dim_feedforward: int) -> dict[str, int]:
    """nn.TransformerEncoderLayer (bias everywhere): self-attention, two linear layers, two LayerNorms."""
    _at_least(dim_feedforward, 1, "dim_feedforward")
    attention = mha_param_counts(d_model, nhead)["total"]
    ffn = linear_param_count(d_model, dim_feedforward) + linear_param_count(dim_feedforward, d_model)
    norm = 2 * 2 * d_model
    return {"attention": attention, "ffn": ffn, "norm": norm, "total": attention + ffn + norm}


def attention_macs(seq_len: int, embed_dim: int, num_heads: int, batch_size: int = 1) -> dict[str, int]:
    """MACs of one self-attention layer: the Q/K/V/O projections and the two matmuls QKᵀ and AV.

    Each head multiplies (n × d_h)(d_h × n), so over h heads QKᵀ costs n²·d whatever h is; softmax
    and scaling are not counted (they are not multiply-accumulates).
    """
    _at_least(seq_len, 1, "seq_len")
    _at_least(batch_size, 1, "batch_size")
    _heads(embed_dim, num_heads)
    scores = batch_size * seq_len * seq_len * embed_dim
    projections = batch_size * 4 * seq_len * embed_dim * embed_dim
    return {"qk": scores, "av": scores, "projections": projections, "total": projections + 2 * scores}


def rnn_param_count(cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                    bias: bool = True, bidirectional: bool = False) -> int:
    """nn.LSTM / nn.GRU / nn.RNN: per layer and direction g·h·(in + h) weights and two bias vectors
    (b_ih and b_hh, g·h each); layers after the first take h·directions inputs."""
    gates = {"lstm": 4, "gru": 3, "rnn": 1}.get(cell)
    if gates is None:
        raise InvalidConfig(f"cell 应为 lstm / gru / rnn，实际为 {cell!r}")
    for value, label in ((input_size, "input_size"), (hidden_size, "hidden_size"), (num_layers, "num_layers")):
        _at_least(value, 1, label)
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        layer_in = input_size if layer == 0 else hidden_size * directions
        per_direction = gates * hidden_size * (layer_in + hidden_size) + (2 * gates * hidden_size if bias else 0)
        total += directions * per_direction
    return total


def vit_token_counts(image_size: int, patch_size: int, embed_dim: int, in_channels: int = 3) -> dict[str, int]:
    """ViT patch embedding as nn.Conv2d(C, D, P, stride=P): patches, tokens with [CLS], parameters."""
    for value, label in ((image_size, "image_size"), (patch_size, "patch_size"), (embed_dim, "embed_dim")):
        _at_least(value, 1, label)
    if image_size % patch_size:
        raise InvalidConfig(f"image_size={image_size} 不能被 patch_size={patch_size} 整除")
    patches = (image_size // patch_size) ** 2
    return {"patches": patches, "tokens": patches + 1,
            "embed_params": conv2d_param_count(in_channels, embed_dim, patch_size),
            "pos_params": (patches + 1) * embed_dim}


# --------------------------------------------------------------------------------------------
# Shapes: PixelShuffle, unfold (im2col), interpolate, ResNet stages, FPN levels
# --------------------------------------------------------------------------------------------


def pixel_shuffle_shape(input_shape: Sequence[int], upscale_factor: int) -> tuple[int, int, int, int]:
    """nn.PixelShuffle(r): (N, C·r², H, W) → (N, C, rH, rW)."""
    n, c, h, w = _input_shape(input_shape)
    _at_least(upscale_factor, 1, "upscale_factor")
    if c % (upscale_factor ** 2):
        raise InvalidConfig(f"通道数 {c} 不能被 upscale_factor²={upscale_factor ** 2} 整除")
    return n, c // upscale_factor ** 2, h * upscale_factor, w * upscale_factor


def unfold_shape(input_shape: Sequence[int], kernel_size: object, stride: object = 1, padding: object = 0,
                 dilation: object = 1) -> tuple[int, int, int]:
    """F.unfold / nn.Unfold (im2col): (N, C·k_h·k_w, L), L = number of sliding positions."""
    n, c, h, w = _input_shape(input_shape)
    k, s, p, d = (_pair(v, label) for v, label in (
        (kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"), (dilation, "dilation")))
    blocks = conv_output_size(h, k[0], s[0], p[0], d[0]) * conv_output_size(w, k[1], s[1], p[1], d[1])
    return n, c * k[0] * k[1], blocks


def interpolate_size(size: int, scale_factor: float) -> int:
    """One dimension of F.interpolate(scale_factor=s): floor(H·s) (in double precision, as PyTorch)."""
    _at_least(size, 1, "size")
    if scale_factor <= 0:
        raise InvalidConfig(f"scale_factor 应 > 0，实际为 {scale_factor}")
    out = math.floor(size * scale_factor)
    if out < 1:
        raise InvalidConfig(f"输出尺寸为 {out}：scale_factor={scale_factor} 对 {size} 太小")
    return out


def linear_source_index(out_index: int, in_size: int, out_size: int, align_corners: bool) -> float:
    """Where F.interpolate(mode='linear'/'bilinear', size=out_size) samples output index i in the input.

    align_corners=True: i·(in-1)/(out-1); False: (i + 0.5)·in/out - 0.5, clamped at 0 (PyTorch's
    area_pixel_compute_source_index for linear modes).
    """
    _at_least(in_size, 1, "in_size")
    _at_least(out_size, 1, "out_size")
    if not 0 <= out_index < out_size:
        raise InvalidConfig(f"输出下标 {out_index} 不在 [0, {out_size}) 内")
    if align_corners:
        return 0.0 if out_size == 1 else out_index * (in_size - 1) / (out_size - 1)
    return max((out_index + 0.5) * in_size / out_size - 0.5, 0.0)


RESNET_CHANNELS = {"resnet18": (64, 128, 256, 512), "resnet50": (256, 512, 1024, 2048)}


def resnet_stage_sizes(height: int, width: int) -> list[tuple[int, int]]:
    """(H, W) after conv1 (7×7/s2/p3), maxpool (3×3/s2/p1) = C2, then C3…C5 (3×3/s2/p1 each)."""
    sizes = []
    h = conv_output_size(height, 7, 2, 3)
    w = conv_output_size(width, 7, 2, 3)
    h, w = pool2d_output_size(h, 3, 2, 1), pool2d_output_size(w, 3, 2, 1)
    sizes.append((h, w))
    for _ in range(3):
        h, w = conv_output_size(h, 3, 2, 1), conv_output_size(w, 3, 2, 1)
        sizes.append((h, w))
    return sizes


def resnet_stage_shape(input_shape: Sequence[int], arch: str, stage: int) -> tuple[int, int, int, int]:
    """Output (N, C, H, W) of stage C2…C5 of torchvision's ResNet-18/50 (stride on the 3×3 conv)."""
    n, c, h, w = _input_shape(input_shape)
    if arch not in RESNET_CHANNELS:
        raise InvalidConfig(f"arch 应为 {' / '.join(RESNET_CHANNELS)}，实际为 {arch!r}")
    if stage not in (2, 3, 4, 5):
        raise InvalidConfig(f"stage 应为 2…5，实际为 {stage}")
    size = resnet_stage_sizes(h, w)[stage - 2]
    return n, RESNET_CHANNELS[arch][stage - 2], size[0], size[1]


def fpn_level_sizes(height: int, width: int, min_level: int, max_level: int) -> dict[int, tuple[int, int]]:
    """(H, W) of FPN levels P_min…P_max: P2…P5 follow the ResNet stages, each extra level (P6, P7) is a
    3×3/s2/p1 conv on the one before (RetinaNet; Faster R-CNN's max-pool k1/s2 gives the same size)."""
    if not 2 <= min_level <= max_level <= 7:
        raise InvalidConfig(f"需要 2 ≤ min_level ≤ max_level ≤ 7，实际为 P{min_level}–P{max_level}")
    sizes = dict(zip((2, 3, 4, 5), resnet_stage_sizes(height, width), strict=True))
    for level in (6, 7):
        h, w = sizes[level - 1]
        sizes[level] = (conv_output_size(h, 3, 2, 1), conv_output_size(w, 3, 2, 1))
    return {level: sizes[level] for level in range(min_level, max_level + 1)}


def fpn_anchor_count(height: int, width: int, min_level: int, max_level: int, anchors_per_location: int) -> int:
    _at_least(anchors_per_location, 1, "anchors_per_location")
    return sum(h * w for h, w in fpn_level_sizes(height, width, min_level, max_level).values()) * anchors_per_location


# --------------------------------------------------------------------------------------------
# Boxes and masks
# --------------------------------------------------------------------------------------------


def box_giou_diou(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """GIoU = IoU - |C \\ (A∪B)|/|C| and DIoU = IoU - ρ²/c² (C the smallest enclosing box, c its
    diagonal, ρ the distance of the centres), as torchvision.ops.generalized/distance_box_iou."""
    iou = box_iou(a, b)
    inter = _box_intersection(a, b)
    union = _box_area(a) + _box_area(b) - inter
    cw, ch = max(a[2], b[2]) - min(a[0], b[0]), max(a[3], b[3]) - min(a[1], b[1])
    hull = cw * ch
    centre = ((a[0] + a[2] - b[0] - b[2]) / 2) ** 2 + ((a[1] + a[3] - b[1] - b[3]) / 2) ** 2
    giou = iou - (hull - union) / hull
    diou = iou - centre / (cw ** 2 + ch ** 2)
    return {"iou": iou, "union": union, "hull": hull, "giou": giou, "giou_loss": 1 - giou,
            "centre_dist2": centre, "diag2": cw ** 2 + ch ** 2, "diou": diou}


def dice_iou(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Dice = 2|P∩G| / (|P|+|G|) = 2TP/(2TP+FP+FN), IoU (Jaccard) = TP/(TP+FP+FN), from pixel counts."""
    for value, label in ((tp, "tp"), (fp, "fp"), (fn, "fn")):
        _at_least(value, 0, label)
    if tp + fp + fn == 0:
        raise InvalidConfig("预测与真值都为空时 Dice/IoU 没有定义")
    return {"dice": 2 * tp / (2 * tp + fp + fn), "iou": tp / (tp + fp + fn)}


# --------------------------------------------------------------------------------------------
# Training: learning rate, Adam, label smoothing
# --------------------------------------------------------------------------------------------


def warmup_cosine_lr(base_lr: float, step: int, warmup_steps: int, total_steps: int,
                     start_factor: float = 0.1, eta_min: float = 0.0) -> float:
    """LinearLR(start_factor → 1 over warmup_steps) then CosineAnnealingLR(T_max = total - warmup,
    eta_min), chained by SequentialLR at milestone warmup_steps; `step` counts scheduler.step() calls."""
    _at_least(warmup_steps, 1, "warmup_steps")
    _at_least(step, 0, "step")
    if not 0 < start_factor <= 1:
        raise InvalidConfig(f"start_factor 应在 (0, 1] 内，实际为 {start_factor}")
    if total_steps <= warmup_steps:
        raise InvalidConfig(f"total_steps={total_steps} 必须大于 warmup_steps={warmup_steps}")
    if step > total_steps:
        raise InvalidConfig(f"step={step} 超过了 total_steps={total_steps}")
    if not 0 <= eta_min < base_lr:
        raise InvalidConfig(f"eta_min={eta_min} 应在 [0, base_lr) 内")
    if step < warmup_steps:
        return base_lr * (start_factor + (1 - start_factor) * step / warmup_steps)
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * progress)) / 2


def adam_steps(grads: Sequence[float], lr: float, beta1: float = 0.9, beta2: float = 0.999,
               eps: float = 1e-8, theta0: float = 0.0) -> list[dict[str, float]]:
    """torch.optim.Adam on one scalar parameter (no weight decay), one record per step t = 1, 2, …"""
    if not grads:
        raise InvalidConfig("至少需要一步梯度")
    if not (0 <= beta1 < 1 and 0 <= beta2 < 1 and lr > 0 and eps >= 0):
        raise InvalidConfig(f"需要 0 ≤ β1, β2 < 1、lr > 0、eps ≥ 0，实际为 β1={beta1}, β2={beta2}, lr={lr}")
    m = v = 0.0
    theta = theta0
    records = []
    for t, g in enumerate(grads, 1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        update = lr * m_hat / (math.sqrt(v_hat) + eps)
        theta -= update
        records.append({"t": t, "g": g, "m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat,
                        "update": update, "theta": theta})
    return records


def label_smoothing_cross_entropy(logits: Sequence[float], target: int, smoothing: float) -> dict[str, float]:
    """F.cross_entropy(label_smoothing=ε): target distribution (1-ε)·onehot + ε/C."""
    c = len(logits)
    if c < 2 or not 0 <= target < c:
        raise InvalidConfig(f"target={target} 不是 {c} 个类别中的下标")
    if not 0 <= smoothing <= 1:
        raise InvalidConfig(f"label_smoothing 应在 [0, 1] 内，实际为 {smoothing}")
    top = max(logits)
    log_z = top + math.log(sum(math.exp(z - top) for z in logits))
    nll = [log_z - z for z in logits]  # -log p_j
    loss = (1 - smoothing) * nll[target] + smoothing / c * sum(nll)
    return {"loss": loss, "plain": nll[target], "mean_nll": sum(nll) / c,
            "target_weight": 1 - smoothing + smoothing / c, "other_weight": smoothing / c}


# --------------------------------------------------------------------------------------------
# Quantisation and memory
# --------------------------------------------------------------------------------------------


def _no_tie(value: float, label: str) -> None:
    # float32 (PyTorch) and float64 could round a near-tie differently; so would a candidate.
    if abs(value - math.floor(value) - 0.5) < 1e-3:
        raise InvalidConfig(f"{label} = {value:.6f} 太接近 .5，舍入有歧义")


def quantize_int8(x: float, x_min: float, x_max: float, scheme: str) -> dict[str, float]:
    """Per-tensor int8 quantisation of x, with the min/max of the tensor as the calibration range.

    symmetric (qint8, range [-127, 127]): scale = max(|min|, |max|)/127, zero point 0.
    affine (quint8, [0, 255]): the range is widened to contain 0, scale = (max - min)/255,
    zero_point = -round(min/scale) — what MinMaxObserver computes. q = clamp(round(x/scale) + zp), rounding
    half to even; the dequantised value is (q - zp)·scale.
    """
    if not x_min <= x <= x_max or x_min >= x_max:
        raise InvalidConfig(f"需要 x_min < x_max 且 x 在 [{x_min}, {x_max}] 内，实际为 x={x}")
    if scheme == "symmetric":
        q_min, q_max = -127, 127
        scale, zero_point = max(abs(x_min), abs(x_max)) / 127, 0
    elif scheme == "affine":
        q_min, q_max = 0, 255
        low, high = min(x_min, 0.0), max(x_max, 0.0)
        scale = (high - low) / 255
        _no_tie(low / scale, "x_min/scale")
        zero_point = min(max(q_min - round(low / scale), q_min), q_max)
    else:
        raise InvalidConfig(f"scheme 应为 symmetric / affine，实际为 {scheme!r}")
    ratio = x / scale
    _no_tie(ratio, "x/scale")
    q = min(max(round(ratio) + zero_point, q_min), q_max)
    dequant = (q - zero_point) * scale
    return {"scale": scale, "zero_point": zero_point, "q": q, "dequant": dequant, "error": abs(x - dequant)}


DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
UNIT_BYTES = {"MB": 10 ** 6, "MiB": 2 ** 20, "GB": 10 ** 9, "GiB": 2 ** 30}


def _bytes(dtype: str, unit: str) -> tuple[int, int]:
    if dtype not in DTYPE_BYTES:
        raise InvalidConfig(f"dtype 应为 {' / '.join(DTYPE_BYTES)}，实际为 {dtype!r}")
    if unit not in UNIT_BYTES:
        raise InvalidConfig(f"unit 应为 {' / '.join(UNIT_BYTES)}，实际为 {unit!r}")
    return DTYPE_BYTES[dtype], UNIT_BYTES[unit]


def tensor_memory(shape: Sequence[int], dtype: str, unit: str) -> float:
    """numel · element_size, in the given unit (decimal MB/GB or binary MiB/GiB)."""
    for value in shape:
        _at_least(value, 1, "shape")
    size, scale = _bytes(dtype, unit)
    return math.prod(shape) * size / scale


def kv_cache_memory(num_layers: int, batch_size: int, seq_len: int, num_kv_heads: int, head_dim: int,
                    dtype: str, unit: str) -> float:
    """K and V caches of every layer, each (B, h_kv, n, d_h): 2·L·B·h_kv·n·d_h elements."""
    for value, label in ((num_layers, "num_layers"), (batch_size, "batch_size"), (seq_len, "seq_len"),
                         (num_kv_heads, "num_kv_heads"), (head_dim, "head_dim")):
        _at_least(value, 1, label)
    size, scale = _bytes(dtype, unit)
    return 2 * num_layers * batch_size * num_kv_heads * seq_len * head_dim * size / scale


def model_memory(num_params: int, dtype: str, unit: str, adam: bool = False) -> float:
    """Weights in dtype; with adam, also the gradients and Adam's exp_avg and exp_avg_sq (same dtype)."""
    _at_least(num_params, 1, "num_params")
    size, scale = _bytes(dtype, unit)
    return num_params * size * (4 if adam else 1) / scale
