"""The plain math behind the calculators, with PyTorch semantics: output shapes of convolutions and
pooling, parameter counts, MACs, receptive fields, IoU, precision/recall/F1, softmax cross-entropy and
inverted dropout. tests/test_calculators.py checks every formula against torch; this module itself must
stay free of torch, FastAPI, the database and the rest of the app.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


class InvalidConfig(ValueError):
    """A concrete parameter combination that PyTorch would reject (or that has no answer)."""


# --------------------------------------------------------------------------------------------
# Plain math (PyTorch semantics)
# --------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pair(value: Any, name: str) -> tuple[int, int]:
    if _is_int(value):
        return value, value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) for v in value):
        return value[0], value[1]
    raise InvalidConfig(f"{name} 应为整数或两个整数 [h, w]，实际为 {value!r}")


def _at_least(value: int, low: int, name: str) -> None:
    if value < low:
        raise InvalidConfig(f"{name} 应 ≥ {low}，实际为 {value}")


def _input_shape(input_shape: Sequence[int]) -> tuple[int, int, int, int]:
    if len(input_shape) != 4 or not all(_is_int(v) for v in input_shape):
        raise InvalidConfig(f"input_shape 应为四个整数 [N, C, H, W]，实际为 {input_shape!r}")
    n, c, h, w = input_shape
    for value, label in ((n, "batch_size"), (c, "in_channels"), (h, "height"), (w, "width")):
        _at_least(value, 1, label)
    return n, c, h, w


def _check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    _at_least(groups, 1, "groups")
    _at_least(out_channels, 1, "out_channels")
    if in_channels % groups or out_channels % groups:
        raise InvalidConfig(
            f"groups={groups} 必须同时整除 in_channels={in_channels} 和 out_channels={out_channels}"
        )


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """One spatial dimension of nn.Conv2d: floor((H + 2p - d(k-1) - 1) / s) + 1."""
    _at_least(kernel_size, 1, "kernel_size")
    _at_least(stride, 1, "stride")
    _at_least(padding, 0, "padding")
    _at_least(dilation, 1, "dilation")
    out = (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
    if out < 1:
        raise InvalidConfig(
            f"输出尺寸为 {out}：卷积核（等效 {dilation * (kernel_size - 1) + 1}）"
            f"大于补零后的输入（{size} + 2×{padding}）"
        )
    return out


def conv2d_output_shape(input_shape: Sequence[int], out_channels: int, kernel_size: Any,
                        stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                        groups: int = 1) -> tuple[int, int, int, int]:
    """Output (N, C_out, H_out, W_out) of nn.Conv2d; size arguments are ints or (h, w) pairs."""
    n, c, h, w = _input_shape(input_shape)
    _check_groups(c, out_channels, groups)
    k, s, p, d = (_pair(v, label) for v, label in (
        (kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"), (dilation, "dilation")))
    return (n, out_channels,
            conv_output_size(h, k[0], s[0], p[0], d[0]),
            conv_output_size(w, k[1], s[1], p[1], d[1]))


def conv_transpose_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """One dimension of nn.ConvTranspose2d: (H-1)s - 2p + d(k-1) + output_padding + 1."""
    _at_least(kernel_size, 1, "kernel_size")
    _at_least(stride, 1, "stride")
    _at_least(padding, 0, "padding")
    _at_least(output_padding, 0, "output_padding")
    _at_least(dilation, 1, "dilation")
    if output_padding >= max(stride, dilation):
        # PyTorch: output padding must be smaller than either stride or dilation.
        raise InvalidConfig(
            f"output_padding={output_padding} 必须小于 stride={stride} 或 dilation={dilation}"
        )
    out = (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1
    if out < 1:
        raise InvalidConfig(f"输出尺寸为 {out}（padding={padding} 过大）")
    return out


def conv_transpose2d_output_shape(input_shape: Sequence[int], out_channels: int, kernel_size: Any,
                                  stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                                  dilation: Any = 1, groups: int = 1) -> tuple[int, int, int, int]:
    """Output (N, C_out, H_out, W_out) of nn.ConvTranspose2d."""
    n, c, h, w = _input_shape(input_shape)
    _check_groups(c, out_channels, groups)
    k, s, p, op, d = (_pair(v, label) for v, label in (
        (kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"),
        (output_padding, "output_padding"), (dilation, "dilation")))
    return (n, out_channels,
            conv_transpose_output_size(h, k[0], s[0], p[0], op[0], d[0]),
            conv_transpose_output_size(w, k[1], s[1], p[1], op[1], d[1]))


def _pool_numerator(size: int, kernel_size: int, stride: int, padding: int, dilation: int,
                    ceil_mode: bool) -> int:
    return size + 2 * padding - dilation * (kernel_size - 1) - 1 + (stride - 1 if ceil_mode else 0)


def pool2d_output_size(size: int, kernel_size: int, stride: int | None = None, padding: int = 0,
                       dilation: int = 1, ceil_mode: bool = False) -> int:
    """One dimension of nn.MaxPool2d / nn.AvgPool2d (stride None = kernel_size, as in PyTorch)."""
    stride = kernel_size if stride is None else stride
    _at_least(kernel_size, 1, "kernel_size")
    _at_least(stride, 1, "stride")
    _at_least(padding, 0, "padding")
    _at_least(dilation, 1, "dilation")
    if padding > kernel_size // 2:
        raise InvalidConfig(f"padding={padding} 不能超过 kernel_size={kernel_size} 的一半（PyTorch 会报错）")
    out = _pool_numerator(size, kernel_size, stride, padding, dilation, ceil_mode) // stride + 1
    # ceil_mode: the last window must start inside the input or the left padding.
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    if out < 1:
        raise InvalidConfig(f"输出尺寸为 {out}：池化窗口放不进输入")
    return out


def pool2d_output_shape(input_shape: Sequence[int], kernel_size: Any, stride: Any = None,
                        padding: Any = 0, dilation: Any = 1,
                        ceil_mode: bool = False) -> tuple[int, int, int, int]:
    """Output (N, C, H_out, W_out) of nn.MaxPool2d (avg pooling: dilation=1)."""
    n, c, h, w = _input_shape(input_shape)
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None else _pair(stride, "stride")
    p = _pair(padding, "padding")
    d = _pair(dilation, "dilation")
    return (n, c,
            pool2d_output_size(h, k[0], s[0], p[0], d[0], ceil_mode),
            pool2d_output_size(w, k[1], s[1], p[1], d[1], ceil_mode))


def conv2d_param_count(in_channels: int, out_channels: int, kernel_size: Any, groups: int = 1,
                       bias: bool = True) -> int:
    """Learnable parameters of nn.Conv2d: C_out·(C_in/g)·k_h·k_w (+ C_out bias)."""
    _at_least(in_channels, 1, "in_channels")
    _check_groups(in_channels, out_channels, groups)
    kh, kw = _pair(kernel_size, "kernel_size")
    _at_least(min(kh, kw), 1, "kernel_size")
    return out_channels * (in_channels // groups) * kh * kw + (out_channels if bias else 0)


def depthwise_separable_param_counts(in_channels: int, out_channels: int, kernel_size: Any,
                                     bias: bool = False) -> dict[str, float]:
    """Depthwise k×k (groups=C_in) + pointwise 1×1 versus one standard k×k conv."""
    depthwise = conv2d_param_count(in_channels, in_channels, kernel_size, in_channels, bias)
    pointwise = conv2d_param_count(in_channels, out_channels, 1, 1, bias)
    standard = conv2d_param_count(in_channels, out_channels, kernel_size, 1, bias)
    return {"depthwise": depthwise, "pointwise": pointwise, "separable": depthwise + pointwise,
            "standard": standard, "ratio": (depthwise + pointwise) / standard}


def batchnorm_param_counts(num_features: int) -> dict[str, int]:
    """nn.BatchNorm2d: weight+bias are learnable; running_mean/var and num_batches_tracked are buffers."""
    _at_least(num_features, 1, "num_features")
    return {"learnable": 2 * num_features, "running": 2 * num_features,
            "state_dict": 4 * num_features + 1}


def linear_param_count(in_features: int, out_features: int, bias: bool = True) -> int:
    _at_least(in_features, 1, "in_features")
    _at_least(out_features, 1, "out_features")
    return in_features * out_features + (out_features if bias else 0)


def receptive_field(layers: Iterable[Mapping[str, Any]]) -> int:
    """RF of a stack: 1 + Σ d_i(k_i - 1)·Π_{j<i} s_j (layers: kernel_size, stride, optional dilation)."""
    rf, jump = 1, 1
    for layer in layers:
        k, s, d = layer["kernel_size"], layer.get("stride", 1), layer.get("dilation", 1)
        _at_least(k, 1, "kernel_size")
        _at_least(s, 1, "stride")
        _at_least(d, 1, "dilation")
        rf += d * (k - 1) * jump
        jump *= s
    return rf


def conv2d_macs(in_channels: int, out_channels: int, height: int, width: int, kernel_size: Any,
                stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
                batch_size: int = 1) -> int:
    """Multiply-accumulates of the convolution only (bias ignored): N·C_out·H_out·W_out·(C_in/g)·k_h·k_w."""
    _, c_out, h_out, w_out = conv2d_output_shape(
        (batch_size, in_channels, height, width), out_channels, kernel_size, stride, padding,
        dilation, groups)
    kh, kw = _pair(kernel_size, "kernel_size")
    return batch_size * c_out * h_out * w_out * (in_channels // groups) * kh * kw


def stacked_conv_param_counts(channels: int, num_layers: int) -> dict[str, int]:
    """n stacked 3×3 convs (C→C, no bias) versus one (2n+1)×(2n+1) conv with the same receptive field."""
    _at_least(channels, 1, "in_channels")
    _at_least(num_layers, 1, "num_layers")
    stacked = num_layers * 9 * channels * channels
    single = (2 * num_layers + 1) ** 2 * channels * channels
    return {"stacked_params": stacked, "single_params": single,
            "receptive_field": 2 * num_layers + 1, "saving": single - stacked}


def _box_area(box: Sequence[float]) -> float:
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        raise InvalidConfig(f"框 {list(box)} 需满足 x2 > x1 且 y2 > y1")
    return (x2 - x1) * (y2 - y1)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two (x1, y1, x2, y2) boxes in continuous coordinates (torchvision.ops.box_iou, no +1)."""
    inter = _box_intersection(a, b)
    return inter / (_box_area(a) + _box_area(b) - inter)


def _box_intersection(a: Sequence[float], b: Sequence[float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def precision_recall_f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    for value, label in ((tp, "tp"), (fp, "fp"), (fn, "fn")):
        _at_least(value, 0, label)
    if tp + fp == 0 or tp + fn == 0:
        raise InvalidConfig("tp+fp 或 tp+fn 为 0 时精确率/召回率没有定义")
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return precision, recall, 2 * tp / (2 * tp + fp + fn)


def softmax_cross_entropy(logits: Sequence[float], target: int) -> tuple[float, float]:
    """(softmax probability of the target class, -ln of it), computed stably via log-sum-exp."""
    if not logits or not 0 <= target < len(logits):
        raise InvalidConfig(f"target={target} 不是 {len(logits)} 个类别中的下标")
    top = max(logits)
    log_z = top + math.log(sum(math.exp(z - top) for z in logits))
    loss = log_z - logits[target]
    return math.exp(-loss), loss


def inverted_dropout(p: float, x: float) -> tuple[float, float]:
    """Inverted dropout keeps an element with probability 1-p and scales it by 1/(1-p) in training."""
    if not 0 <= p < 1:
        raise InvalidConfig(f"dropout 的 p 应在 [0, 1) 内，实际为 {p}")
    scale = 1 / (1 - p)
    return scale, x * scale
