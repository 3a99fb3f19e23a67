"""The calculators behind "generated" questions: drawing an instance and its worked explanation.

Each calculator draws interview-sized parameters from YAML-style specs (see content/FORMAT.md,
section "generated") and computes the answer plus a worked explanation in Chinese, with the formulas of
app.calculators.formulas. Like the rest of app.calculators it imports nothing of the app.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from .base import (
    _BOX_ITEMS,
    _BOX_PARAMS,
    _WIDTH,
    Calculator,
    Instance,
    Picker,
    _approx,
    _ask,
    _bias_text,
    _dims,
    _fmt,
    _image,
    _sample_boxes,
    _sample_logits,
    _shape_text,
    _Solution,
    _spatial,
)
from .formulas import (
    InvalidConfig,
    _at_least,
    _box_area,
    _box_intersection,
    _pair,
    batchnorm_param_counts,
    box_iou,
    conv2d_macs,
    conv2d_output_shape,
    conv2d_param_count,
    conv_transpose2d_output_shape,
    depthwise_separable_param_counts,
    inverted_dropout,
    linear_param_count,
    pool2d_output_shape,
    pool2d_output_size,
    precision_recall_f1,
    receptive_field,
    softmax_cross_entropy,
    stacked_conv_param_counts,
)
from .generated_models import MODEL_CALCULATORS
from .params import Param, ParamRangeError, _draw_value, _parse_spec, _Spec

MAX_TRIES = 1000


# -- conv2d_output_shape ------------------------------------------------------------------------

_CONV_FORMULA = r"$$H_{out} = \left\lfloor \frac{H_{in} + 2p - d\,(k-1) - 1}{s} \right\rfloor + 1$$"


def _conv_dim_line(label: str, size: int, k: int, s: int, p: int, d: int, out: int) -> str:
    num = size + 2 * p - d * (k - 1) - 1
    return (rf"- {label}：$\lfloor ({size} + 2\times{p} - {d}\times({k}-1) - 1) / {s} \rfloor + 1"
            rf" = \lfloor {num}/{s} \rfloor + 1 = {out}$")


def _solve_conv2d_shape(params: dict[str, Any]) -> _Solution:
    _spatial(params)
    shape = conv2d_output_shape(params["input_shape"], params["out_channels"], params["kernel_size"],
                                params["stride"], params["padding"], params["dilation"], params["groups"])
    k, s, p, d = _dims(params, "kernel_size", "stride", "padding", "dilation")
    lines = [
        "卷积输出尺寸公式（向下取整）：", "", _CONV_FORMULA, "",
        _conv_dim_line("高", params["height"], k[0], s[0], p[0], d[0], shape[2]),
        _conv_dim_line("宽", params["width"], k[1], s[1], p[1], d[1], shape[3]),
        f"- 通道数由卷积核个数决定：$C_{{out}} = {shape[1]}$；batch 维不变：$N = {shape[0]}$。",
    ]
    if params["groups"] > 1:
        lines.append(f"- groups={params['groups']} 只影响参数量和计算量，不改变输出形状。")
    lines += ["", f"输出形状（NCHW）：${_shape_text(shape)}$。"]
    return _Solution(shape, "\n".join(lines), params)


# -- conv_transpose2d_output_shape --------------------------------------------------------------


def _solve_conv_transpose_shape(params: dict[str, Any]) -> _Solution:
    _spatial(params)
    shape = conv_transpose2d_output_shape(
        params["input_shape"], params["out_channels"], params["kernel_size"], params["stride"],
        params["padding"], params["output_padding"], params["dilation"])
    k, s, p, op, d = _dims(params, "kernel_size", "stride", "padding", "output_padding", "dilation")
    lines = [
        "转置卷积输出尺寸公式（卷积公式的逆过程）：", "",
        r"$$H_{out} = (H_{in} - 1)\,s - 2p + d\,(k-1) + \text{output\_padding} + 1$$", "",
    ]
    for label, size, i, out in (("高", params["height"], 0, shape[2]), ("宽", params["width"], 1, shape[3])):
        lines.append(rf"- {label}：$({size} - 1)\times{s[i]} - 2\times{p[i]} + {d[i]}\times({k[i]}-1)"
                     rf" + {op[i]} + 1 = {out}$")
    lines += [
        f"- 通道数：$C_{{out}} = {shape[1]}$；batch 维不变。",
        "- output_padding 只在输出一侧补一行/列，用来消除 stride>1 时多个输入尺寸对应同一输出尺寸的歧义，"
        "必须小于 stride 或 dilation。",
        "", f"输出形状（NCHW）：${_shape_text(shape)}$。",
    ]
    return _Solution(shape, "\n".join(lines), params)


# -- pooling ------------------------------------------------------------------------------------


def _pool_dim_line(label: str, size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> str:
    out = pool2d_output_size(size, k, s, p, d, ceil_mode)
    plain = size + 2 * p - d * (k - 1) - 1
    eff = f"{d}\\times({k}-1)" if d > 1 else f"({k}-1)"
    if not ceil_mode:
        return (rf"- {label}：$\lfloor ({size} + 2\times{p} - {eff} - 1) / {s} \rfloor + 1"
                rf" = \lfloor {plain}/{s} \rfloor + 1 = {out}$")
    raw = -(-plain // s) + 1
    line = (rf"- {label}：$\lceil ({size} + 2\times{p} - {eff} - 1) / {s} \rceil + 1"
            rf" = \lceil {plain}/{s} \rceil + 1 = {raw}$")
    if raw != out:
        line += (rf"；但最后一个窗口起点 $({raw}-1)\times{s} = {(raw - 1) * s} \ge {size} + {p}$，"
                 rf"完全落在右侧 padding 里，舍去，得 ${out}$")
    return line


def _solve_pool_shape(params: dict[str, Any], avg: bool) -> _Solution:
    _spatial(params)
    if params.get("stride") is None:
        params["stride"] = params["kernel_size"]  # PyTorch default: stride = kernel_size
    dilation = 1 if avg else params["dilation"]
    shape = pool2d_output_shape(params["input_shape"], params["kernel_size"], params["stride"],
                                params["padding"], dilation, params["ceil_mode"])
    k, s, p, d = (_pair(v, n) for v, n in ((params["kernel_size"], "kernel_size"),
                                           (params["stride"], "stride"), (params["padding"], "padding"),
                                           (dilation, "dilation")))
    rounding = r"\lceil \cdot \rceil" if params["ceil_mode"] else r"\lfloor \cdot \rfloor"
    lines = [
        f"池化输出尺寸与卷积同一公式，ceil_mode={params['ceil_mode']} 时取 ${rounding}$：", "",
        _CONV_FORMULA.replace(r"\left\lfloor", r"\left\lceil").replace(r"\right\rfloor", r"\right\rceil")
        if params["ceil_mode"] else _CONV_FORMULA, "",
        _pool_dim_line("高", params["height"], k[0], s[0], p[0], d[0], params["ceil_mode"]),
        _pool_dim_line("宽", params["width"], k[1], s[1], p[1], d[1], params["ceil_mode"]),
        f"- 池化逐通道进行，通道数不变：$C = {shape[1]}$；batch 维不变。",
    ]
    if params["ceil_mode"]:
        lines.append("- ceil_mode 规则：最后一个窗口必须从输入或左侧 padding 内开始，"
                     "即若 $(H_{out}-1)\\,s \\ge H_{in} + p$ 则 $H_{out}$ 减 1。")
    lines += ["", f"输出形状（NCHW）：${_shape_text(shape)}$。"]
    return _Solution(shape, "\n".join(lines), params)


# -- parameter counts ---------------------------------------------------------------------------


def _solve_conv2d_params(params: dict[str, Any]) -> _Solution:
    c_in, c_out, g, bias = (params[n] for n in ("in_channels", "out_channels", "groups", "bias"))
    total = conv2d_param_count(c_in, c_out, params["kernel_size"], g, bias)
    kh, kw = _pair(params["kernel_size"], "kernel_size")
    params["bias_text"] = _bias_text(bias)
    weight = c_out * (c_in // g) * kh * kw
    lines = [
        r"卷积权重形状为 $[C_{out},\ C_{in}/g,\ k_h,\ k_w]$，偏置每个输出通道一个：", "",
        rf"- 权重：${c_out} \times ({c_in}/{g}) \times {kh} \times {kw} = {weight}$",
        f"- 偏置：{c_out if bias else 0}（{params['bias_text']}）",
        "", f"合计：${weight} + {c_out if bias else 0} = {total}${_approx(total)}。",
    ]
    return _Solution(total, "\n".join(lines), params)


_DWS_ASK = {"separable": "深度可分离卷积（depthwise + pointwise）的总参数量",
            "standard": "同样输入输出通道的标准卷积的参数量",
            "ratio": "深度可分离卷积与标准卷积的参数量之比"}


def _solve_depthwise(params: dict[str, Any]) -> _Solution:
    c_in, c_out, bias, ask = (params[n] for n in ("in_channels", "out_channels", "bias", "ask"))
    counts = depthwise_separable_param_counts(c_in, c_out, params["kernel_size"], bias)
    kh, kw = _pair(params["kernel_size"], "kernel_size")
    params["bias_text"] = _bias_text(bias)
    params["ask_text"] = _DWS_ASK[ask]
    b_dw, b_pw = (f" + {c_in}", f" + {c_out}") if bias else ("", "")
    lines = [
        f"（{params['bias_text']}）",
        rf"- depthwise {kh}×{kw}（groups = $C_{{in}}$）：${c_in} \times {kh} \times {kw}{b_dw} = {counts['depthwise']}$",
        rf"- pointwise 1×1：${c_in} \times {c_out}{b_pw} = {counts['pointwise']}$",
        rf"- 深度可分离合计：${counts['depthwise']} + {counts['pointwise']} = {counts['separable']}$",
        rf"- 标准 {kh}×{kw} 卷积：${c_in} \times {c_out} \times {kh} \times {kw}{b_pw} = {counts['standard']}$",
        rf"- 比值：${counts['separable']} / {counts['standard']} \approx {counts['ratio']:.4f}$"
        rf"（不计偏置时约为 $\frac{{1}}{{C_{{out}}}} + \frac{{1}}{{k_h k_w}}$）",
    ]
    if ask == "ratio":
        return _Solution(round(counts["ratio"], 4), "\n".join(lines), params, rel_tolerance=0.01)
    return _Solution(counts[ask], "\n".join(lines), params)


_BN_ASK = {"learnable": "可学习参数的个数（weight 与 bias）",
           "running": "running 统计量的元素个数（running_mean 与 running_var）",
           "state_dict": "state_dict 中所有张量的元素总数（含 num_batches_tracked）"}


def _solve_batchnorm(params: dict[str, Any]) -> _Solution:
    c = params["num_features"]
    counts = batchnorm_param_counts(c)
    params["ask_text"] = _BN_ASK[params["ask"]]
    lines = [
        f"BatchNorm2d({c}) 对每个通道各有一组量：",
        rf"- 可学习参数：weight ($\gamma$) 与 bias ($\beta$)，$2 \times {c} = {counts['learnable']}$",
        rf"- buffer：running_mean 与 running_var，$2 \times {c} = {counts['running']}$，推理时使用，不参与梯度更新",
        rf"- num_batches_tracked：1 个标量 buffer；state_dict 合计 $4 \times {c} + 1 = {counts['state_dict']}$",
    ]
    return _Solution(counts[params["ask"]], "\n".join(lines), params)


def _solve_linear(params: dict[str, Any]) -> _Solution:
    n_in, n_out, bias = params["in_features"], params["out_features"], params["bias"]
    total = linear_param_count(n_in, n_out, bias)
    params["bias_text"] = _bias_text(bias)
    lines = [
        rf"nn.Linear 的权重形状为 $[\text{{out}},\ \text{{in}}] = [{n_out}, {n_in}]$，"
        f"偏置 {n_out if bias else 0} 个（{params['bias_text']}）：",
        "", rf"${n_in} \times {n_out} + {n_out if bias else 0} = {total}${_approx(total)}。",
    ]
    return _Solution(total, "\n".join(lines), params)


# -- receptive field ----------------------------------------------------------------------------


def _sample_layers(values: dict[str, Any], pick: Picker, rng: random.Random) -> None:
    n = values["num_layers"]
    _at_least(n, 1, "num_layers")
    layers = []
    for _ in range(n):
        k, s = pick("kernel_size"), pick("stride")
        kind = "maxpool" if k == s and k > 1 else "conv"  # k×k/s=k reads as a pooling layer
        layers.append({"type": kind, "kernel_size": k, "stride": s})
    values["layers"] = layers


def _solve_receptive_field(params: dict[str, Any]) -> _Solution:
    layers = params["layers"]
    rf = receptive_field(layers)
    params["layers_text"] = " → ".join(
        f"{layer['type']}{layer['kernel_size']}×{layer['kernel_size']}/s{layer['stride']}" for layer in layers)
    lines = [
        r"从输入往后递推，$J$ 为该层之前所有步长的乘积（相邻输出在输入上的间隔）：", "",
        r"$$RF_i = RF_{i-1} + (k_i - 1)\,J_{i-1},\quad J_i = J_{i-1}\, s_i,\quad RF_0 = J_0 = 1$$", "",
        "| 层 | k | s | J（之前） | RF |", "|---|---|---|---|---|",
    ]
    cur, jump = 1, 1
    for i, layer in enumerate(layers, 1):
        k, s = layer["kernel_size"], layer["stride"]
        cur += (k - 1) * jump
        lines.append(f"| {i}. {layer['type']}{k}×{k}/s{s} | {k} | {s} | {jump} | "
                     f"{cur - (k - 1) * jump} + ({k}-1)×{jump} = {cur} |")
        jump *= s
    lines += ["", f"最终感受野：${rf} \\times {rf}$，答案 {rf}。"]
    return _Solution(rf, "\n".join(lines), params)


# -- MACs ---------------------------------------------------------------------------------------

_MACS_ASK = {"macs": "乘加次数 MACs", "flops": "FLOPs（按 1 次乘加 = 2 次浮点运算）"}


def _solve_macs(params: dict[str, Any]) -> _Solution:
    _spatial(params)
    if params.get("padding") is None:
        kh, kw = _pair(params["kernel_size"], "kernel_size")
        params["padding"] = kh // 2 if kh == kw else [kh // 2, kw // 2]  # "same" padding for odd k
    c_in, c_out, g = params["in_channels"], params["out_channels"], params["groups"]
    macs = conv2d_macs(c_in, c_out, params["height"], params["width"], params["kernel_size"],
                       params["stride"], params["padding"], 1, g)
    _, _, h_out, w_out = conv2d_output_shape(params["input_shape"], c_out, params["kernel_size"],
                                             params["stride"], params["padding"], 1, g)
    kh, kw = _pair(params["kernel_size"], "kernel_size")
    params["ask_text"] = _MACS_ASK[params["ask"]]
    flops = 2 * macs
    lines = [
        f"先求输出尺寸：$H_{{out}} \\times W_{{out}} = {h_out} \\times {w_out}$。",
        "每个输出元素要做 $(C_{in}/g)\\,k_h k_w$ 次乘加，只计卷积本身、不计偏置：", "",
        r"$$\text{MACs} = C_{out} \cdot H_{out} \cdot W_{out} \cdot (C_{in}/g) \cdot k_h \cdot k_w$$", "",
        rf"- MACs $= {c_out} \times {h_out} \times {w_out} \times ({c_in}/{g}) \times {kh} \times {kw} = {macs}${_approx(macs)}",
        rf"- FLOPs $= 2 \times \text{{MACs}} = {flops}${_approx(flops)}，一次乘加算一次乘法加一次加法",
    ]
    answer = macs if params["ask"] == "macs" else flops
    return _Solution(answer, "\n".join(lines), params, rel_tolerance=0.01)


# -- stacked 3×3 --------------------------------------------------------------------------------

_STACK_ASK = {"stacked_params": "堆叠的 3×3 卷积的总参数量",
              "single_params": "感受野相同的单个大卷积的参数量",
              "receptive_field": "堆叠后的感受野大小",
              "saving": "堆叠 3×3 相比单个大卷积节省的参数量"}


def _solve_stacked(params: dict[str, Any]) -> _Solution:
    c, n = params["in_channels"], params["num_layers"]
    _at_least(n, 2, "num_layers")  # one 3×3 "stack" compares with itself: nothing to ask
    counts = stacked_conv_param_counts(c, n)
    big = 2 * n + 1
    params["single_kernel"] = big
    params["ask_text"] = _STACK_ASK[params["ask"]]
    lines = [
        f"每个卷积 {c}→{c} 通道、不带偏置：",
        f"- 感受野：每叠一层 3×3（stride 1）加 2，$1 + 2\\times{n} = {big}$，与一个 {big}×{big} 卷积相同",
        rf"- {n} 个 3×3：${n} \times 3 \times 3 \times {c} \times {c} = {counts['stacked_params']}$",
        rf"- 1 个 {big}×{big}：${big} \times {big} \times {c} \times {c} = {counts['single_params']}$",
        rf"- 节省：${counts['single_params']} - {counts['stacked_params']} = {counts['saving']}$"
        rf"（约 {counts['saving'] / counts['single_params']:.0%}），且多了 {n - 1} 个非线性",
    ]
    return _Solution(counts[params["ask"]], "\n".join(lines), params)


# -- box IoU ------------------------------------------------------------------------------------


def _solve_box_iou(params: dict[str, Any]) -> _Solution:
    a, b = params["box_a"], params["box_b"]
    iou = box_iou(a, b)
    area_a, area_b, inter = _box_area(a), _box_area(b), _box_intersection(a, b)
    params["box_a_text"], params["box_b_text"] = _shape_text(a), _shape_text(b)
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    union = area_a + area_b - inter
    lines = [
        "框为 $(x_1, y_1, x_2, y_2)$ 连续坐标，面积 $=(x_2-x_1)(y_2-y_1)$（不加 1）：",
        f"- 面积 A：$({_fmt(a[2])}-{_fmt(a[0])})\\times({_fmt(a[3])}-{_fmt(a[1])}) = {_fmt(area_a)}$；"
        f"面积 B：$({_fmt(b[2])}-{_fmt(b[0])})\\times({_fmt(b[3])}-{_fmt(b[1])}) = {_fmt(area_b)}$",
        f"- 交集宽 $\\max(0, \\min({_fmt(a[2])}, {_fmt(b[2])}) - \\max({_fmt(a[0])}, {_fmt(b[0])})) = {_fmt(iw)}$，"
        f"高 $\\max(0, \\min({_fmt(a[3])}, {_fmt(b[3])}) - \\max({_fmt(a[1])}, {_fmt(b[1])})) = {_fmt(ih)}$，"
        f"交集面积 ${_fmt(inter)}$",
        f"- 并集 $= {_fmt(area_a)} + {_fmt(area_b)} - {_fmt(inter)} = {_fmt(union)}$",
        "", f"$\\text{{IoU}} = {_fmt(inter)} / {_fmt(union)} \\approx {iou:.4f}$",
    ]
    return _Solution(round(iou, 4), "\n".join(lines), params, tolerance=0.01)


# -- precision / recall / F1 --------------------------------------------------------------------

_PRF_ASK = {"precision": "精确率 Precision", "recall": "召回率 Recall", "f1": "F1 分数"}


def _solve_prf(params: dict[str, Any]) -> _Solution:
    tp, fp, fn = params["tp"], params["fp"], params["fn"]
    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    params["ask_text"] = _PRF_ASK[params["ask"]]
    lines = [
        rf"- Precision $= \frac{{TP}}{{TP+FP}} = \frac{{{tp}}}{{{tp}+{fp}}} \approx {precision:.4f}$",
        rf"- Recall $= \frac{{TP}}{{TP+FN}} = \frac{{{tp}}}{{{tp}+{fn}}} \approx {recall:.4f}$",
        rf"- F1 $= \frac{{2PR}}{{P+R}} = \frac{{2TP}}{{2TP+FP+FN}} = \frac{{{2 * tp}}}{{{2 * tp}+{fp}+{fn}}}"
        rf" \approx {f1:.4f}$",
    ]
    value = {"precision": precision, "recall": recall, "f1": f1}[params["ask"]]
    return _Solution(round(value, 4), "\n".join(lines), params, tolerance=0.01)


# -- softmax cross-entropy ----------------------------------------------------------------------

_CE_ASK = {"prob": "目标类别的 softmax 概率", "loss": "交叉熵损失（自然对数）"}


def _solve_ce(params: dict[str, Any]) -> _Solution:
    logits, t = params["logits"], params["target"]
    prob, loss = softmax_cross_entropy(logits, t)
    params["logits_text"] = "[" + ", ".join(_fmt(z) for z in logits) + "]"
    params["ask_text"] = _CE_ASK[params["ask"]]
    exps = [math.exp(z) for z in logits]
    total = sum(exps)
    terms = " + ".join(f"e^{{{_fmt(z)}}}" for z in logits)
    lines = [
        f"目标类别下标 {t}（从 0 开始），$z_{{{t}}} = {_fmt(logits[t])}$：",
        f"- $\\sum_j e^{{z_j}} = {terms} \\approx " + " + ".join(f"{e:.4f}" for e in exps) + f" = {total:.4f}$",
        rf"- $p_{{{t}}} = e^{{{_fmt(logits[t])}}} / {total:.4f} \approx {prob:.4f}$",
        rf"- $\text{{loss}} = -\ln p_{{{t}}} = \ln\sum_j e^{{z_j}} - z_{{{t}}} \approx {loss:.4f}$",
    ]
    value = prob if params["ask"] == "prob" else loss
    return _Solution(round(value, 4), "\n".join(lines), params, tolerance=0.01)


# -- inverted dropout ---------------------------------------------------------------------------

_DROP_ASK = {"scale": "训练时被保留元素的缩放系数", "value": "该元素被保留时的输出值"}


def _solve_dropout(params: dict[str, Any]) -> _Solution:
    p, x = params["p"], params["x"]
    scale, value = inverted_dropout(p, x)
    params["ask_text"] = _DROP_ASK[params["ask"]]
    lines = [
        f"Inverted Dropout：训练时每个元素以概率 $p={_fmt(p)}$ 置 0，保留的元素乘以 $\\frac{{1}}{{1-p}}$，"
        "使期望不变，推理时直接恒等输出：",
        rf"- 缩放系数：$1/(1-{_fmt(p)}) \approx {scale:.4f}$",
        rf"- 保留时输出：${_fmt(x)} / (1-{_fmt(p)}) \approx {value:.4f}$",
    ]
    answer = scale if params["ask"] == "scale" else value
    return _Solution(round(answer, 4), "\n".join(lines), params, tolerance=0.01)


# -- registry -----------------------------------------------------------------------------------

_CHANNELS_IN = [3, 16, 32, 64, 128]
_CHANNELS_OUT = [16, 32, 64, 128, 256]
_SIDE = {"min": 7, "max": 224}


_ALL = [
    Calculator("conv2d_output_shape", "卷积输出形状", "shape", {
        **_image(_CHANNELS_IN, _SIDE),
        "out_channels": Param("int", _CHANNELS_OUT),
        "kernel_size": Param("pair", [1, 3, 5, 7]),
        "stride": Param("pair", [1, 2]),
        "padding": Param("pair", [0, 1, 2, 3]),
        "dilation": Param("pair", 1),
        "groups": Param("int", 1),
    }, _solve_conv2d_shape, derived="input_shape"),
    Calculator("conv_transpose2d_output_shape", "转置卷积输出形状", "shape", {
        **_image([16, 32, 64, 128, 256], {"min": 4, "max": 64}),
        "out_channels": Param("int", [3, 16, 32, 64, 128]),
        "kernel_size": Param("pair", [2, 3, 4]),
        "stride": Param("pair", [1, 2]),
        "padding": Param("pair", [0, 1]),
        "output_padding": Param("pair", [0, 1], "须小于 stride 或 dilation，否则重抽"),
        "dilation": Param("pair", 1),
    }, _solve_conv_transpose_shape, derived="input_shape"),
    Calculator("maxpool2d_output_shape", "最大池化输出形状", "shape", {
        **_image(_CHANNELS_OUT, _SIDE),
        "kernel_size": Param("pair", [2, 3]),
        "stride": Param("pair", [1, 2], "null = 等于 kernel_size（PyTorch 默认）", nullable=True),
        "padding": Param("pair", [0, 1], "须 ≤ kernel_size // 2，否则重抽"),
        "dilation": Param("pair", 1),
        "ceil_mode": Param("bool", [False, True]),
    }, lambda p: _solve_pool_shape(p, avg=False), derived="input_shape"),
    Calculator("avgpool2d_output_shape", "平均池化输出形状", "shape", {
        **_image(_CHANNELS_OUT, _SIDE),
        "kernel_size": Param("pair", [2, 3]),
        "stride": Param("pair", [1, 2], "null = 等于 kernel_size（PyTorch 默认）", nullable=True),
        "padding": Param("pair", [0, 1], "须 ≤ kernel_size // 2，否则重抽"),
        "ceil_mode": Param("bool", [False, True]),
    }, lambda p: _solve_pool_shape(p, avg=True), derived="input_shape"),
    Calculator("conv2d_params", "卷积层参数量", "numeric", {
        "in_channels": Param("int", [3, 16, 32, 64, 128, 256]),
        "out_channels": Param("int", _CHANNELS_OUT),
        "kernel_size": Param("pair", [1, 3, 5, 7]),
        "groups": Param("int", 1),
        "bias": Param("bool", True),
    }, _solve_conv2d_params, derived="bias_text"),
    Calculator("depthwise_separable_params", "深度可分离卷积参数量", "numeric", {
        "in_channels": Param("int", [16, 32, 64, 128, 256]),
        "out_channels": Param("int", [32, 64, 128, 256, 512]),
        "kernel_size": Param("pair", 3),
        "bias": Param("bool", False),
        "ask": _ask("separable", _DWS_ASK),
    }, _solve_depthwise, derived="bias_text, ask_text"),
    Calculator("batchnorm_params", "BatchNorm 参数与 buffer 数量", "numeric", {
        "num_features": Param("int", [16, 32, 64, 128, 256, 512]),
        "ask": _ask("learnable", _BN_ASK),
    }, _solve_batchnorm, derived="ask_text"),
    Calculator("linear_params", "全连接层参数量", "numeric", {
        "in_features": Param("int", [128, 256, 512, 784, 1024, 2048, 4096]),
        "out_features": Param("int", [10, 100, 128, 256, 512, 1000]),
        "bias": Param("bool", True),
    }, _solve_linear, derived="bias_text"),
    Calculator("receptive_field", "感受野", "numeric", {
        "num_layers": Param("int", {"min": 2, "max": 5}),
        "kernel_size": Param("int", [2, 3, 3, 5], "每层独立抽取；k = stride > 1 的层记为 maxpool"),
        "stride": Param("int", [1, 2], "每层独立抽取"),
    }, _solve_receptive_field, sample=_sample_layers, per_item=("kernel_size", "stride"),
        derived="layers（[{type, kernel_size, stride}]）, layers_text（如 conv3×3/s1 → maxpool2×2/s2）"),
    Calculator("conv2d_macs", "卷积计算量 MACs/FLOPs", "numeric", {
        "in_channels": Param("int", _CHANNELS_IN),
        "out_channels": Param("int", _CHANNELS_OUT),
        "height": Param("int", [7, 14, 28, 56, 112, 224]),
        "width": _WIDTH,
        "kernel_size": Param("pair", [1, 3]),
        "stride": Param("pair", [1, 2]),
        "padding": Param("pair", None, "null = kernel_size // 2（same padding）", nullable=True),
        "groups": Param("int", 1),
        "ask": _ask("macs", _MACS_ASK),
    }, _solve_macs, derived="input_shape（N = 1）, ask_text"),
    Calculator("stacked_3x3_vs_5x5", "堆叠 3×3 卷积 vs 单个大卷积", "numeric", {
        "in_channels": Param("int", [16, 32, 64, 128, 256]),
        "num_layers": Param("int", [2, 3], "2 → 对比 5×5，3 → 对比 7×7"),
        "ask": _ask("stacked_params", _STACK_ASK),
    }, _solve_stacked, derived="single_kernel（= 2·num_layers + 1）, ask_text"),
    Calculator("box_iou", "检测框 IoU", "numeric", {
        **_BOX_PARAMS,
    }, _solve_box_iou, sample=_sample_boxes, per_item=_BOX_ITEMS, derived="box_a, box_b（[x1, y1, x2, y2]）, box_a_text, box_b_text"),
    Calculator("precision_recall_f1", "精确率 / 召回率 / F1", "numeric", {
        "tp": Param("int", {"min": 1, "max": 100}),
        "fp": Param("int", {"min": 0, "max": 50}),
        "fn": Param("int", {"min": 0, "max": 50}),
        "ask": _ask("precision", _PRF_ASK),
    }, _solve_prf, derived="ask_text"),
    Calculator("softmax_cross_entropy", "Softmax 与交叉熵", "numeric", {
        "num_classes": Param("int", [3, 4, 5]),
        "logit": Param("float", {"min": -2, "max": 3}, "每个类别独立抽取"),
        "ask": _ask("prob", _CE_ASK),
    }, _solve_ce, sample=_sample_logits, per_item=("logit",), derived="logits, logits_text, target（从 0 开始的类别下标）, ask_text"),
    Calculator("inverted_dropout_scale", "Inverted Dropout 缩放", "numeric", {
        "p": Param("float", [0.1, 0.2, 0.25, 0.3, 0.4, 0.5], "丢弃概率"),
        "x": Param("float", {"min": 1, "max": 10}, "输入元素的值"),
        "ask": _ask("scale", _DROP_ASK),
    }, _solve_dropout, derived="ask_text"),
]

CALCULATORS: dict[str, Calculator] = {c.name: c for c in _ALL + MODEL_CALCULATORS}


# --------------------------------------------------------------------------------------------
# Drawing and validation
# --------------------------------------------------------------------------------------------


def _collect(name: str, ranges: Mapping[str, Any] | None) -> tuple[Calculator | None, dict[str, _Spec], list[str]]:
    """Parse every spec, gathering all problems so a content writer sees them at once."""
    calc = CALCULATORS.get(name)
    if calc is None:
        return None, {}, [f"未知计算器「{name}」（可选：{', '.join(CALCULATORS)}）"]
    ranges = {} if ranges is None else ranges
    if not isinstance(ranges, Mapping):
        return calc, {}, [f"{name}: params 应为「参数: 取值」的映射，实际为 {ranges!r}"]
    problems = []
    unknown = [str(k) for k in ranges if k not in calc.params]
    if unknown:
        problems.append(f"{name} 没有参数 {', '.join(unknown)}（可用：{', '.join(calc.params)}）")
    specs = {}
    for key, raw in {**calc.defaults, **{k: v for k, v in ranges.items() if k in calc.params}}.items():
        try:
            specs[key] = _parse_spec(key, calc.params[key], raw)
        except ParamRangeError as exc:
            problems.append(f"{name}: {exc}")
    return calc, specs, problems


def _specs(name: str, ranges: Mapping[str, Any] | None) -> tuple[Calculator, dict[str, _Spec]]:
    calc, specs, problems = _collect(name, ranges)
    if problems or calc is None:
        raise ParamRangeError("；".join(problems))
    return calc, specs


def _attempt(calc: Calculator, specs: dict[str, _Spec], rng: random.Random) -> _Solution:
    def pick(param: str) -> Any:
        return _draw_value(rng, specs[param])

    values = {k: pick(k) for k in calc.params if k not in calc.per_item}
    if calc.sample:
        calc.sample(values, pick, rng)
    sol = calc.solve(values)
    if sol.tolerance and abs(sol.answer) < 5 * sol.tolerance:  # type: ignore[arg-type]
        # Otherwise answering 0 would pass within the tolerance.
        raise InvalidConfig(f"答案 {sol.answer} 太接近 0（容差 {sol.tolerance} 内答 0 也算对）")
    return sol


JSON_SAFE_INT = 2**53  # beyond it a number cannot go out in a JSON response (orjson refuses > 64 bits)


def _json_safe(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(_json_safe(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_json_safe(v) for v in value)
    return not isinstance(value, int) or -JSON_SAFE_INT <= value <= JSON_SAFE_INT


def _draw(calc: Calculator, specs: dict[str, _Spec], seed: int) -> Instance | str:
    """The instance for `seed`, or the last reason a drawn combination was rejected."""
    rng = random.Random(f"{calc.name}:{seed}")  # str seeds go through sha512: stable across processes
    problem = ""
    for _ in range(MAX_TRIES):
        try:
            sol = _attempt(calc, specs, rng)
        except InvalidConfig as exc:
            problem = str(exc)
            continue
        if not _json_safe((sol.params, sol.answer)):
            problem = f"数值超出 ±2^53（JSON 能精确表示的整数范围）: {sol.answer!s:.80}"
            continue
        return Instance(
            calculator=calc.name, seed=seed, params=sol.params, kind=calc.kind, answer=sol.answer,
            tolerance=sol.tolerance, rel_tolerance=sol.rel_tolerance,
            order=calc.order if calc.kind == "shape" else None, worked=sol.worked)
    return problem


def draw(name: str, ranges: Mapping[str, Any], seed: int) -> Instance:
    """Deterministic for (name, ranges, seed): invalid combinations are redrawn up to MAX_TRIES times."""
    calc, specs = _specs(name, ranges)
    result = _draw(calc, specs, seed)
    if isinstance(result, str):
        raise ParamRangeError(f"{name}: 种子 {seed} 连续 {MAX_TRIES} 次都抽不出合法的题目（最后一次：{result}）")
    return result


def validate_ranges(name: str, ranges: Mapping[str, Any], samples: int = 50) -> list[str]:
    """Plain-language problems with a generated item's params; an empty list means it is fine."""
    calc, specs, problems = _collect(name, ranges)
    if problems or calc is None:
        return problems
    failures = [(seed, r) for seed in range(samples) if isinstance(r := _draw(calc, specs, seed), str)]
    if not failures:
        return []
    if len(failures) == samples:
        return [f"{name}: 这些范围永远抽不出合法的题目（例如：{failures[0][1]}）"]
    seeds = ", ".join(str(seed) for seed, _ in failures[:5])
    return [f"{name}: 这些范围不是总能抽出合法的题目（{samples} 个种子中 {len(failures)} 个失败，"
            f"如种子 {seeds}；例如：{failures[0][1]}）"]
