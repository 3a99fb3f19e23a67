"""Calculators of the second family: attention and transformer layers, RNNs, ViT tokens, PixelShuffle /
unfold / interpolate, ResNet and FPN feature maps, GIoU/DIoU, Dice, learning-rate schedules, Adam, label
smoothing, int8 quantisation and memory. Each draws its instance and writes the worked computation in
Chinese with app.calculators.formulas_models; generated.py adds them to the registry.
"""

from __future__ import annotations

import math
import random
from typing import Any

from .base import (
    _BOX_ITEMS,
    _BOX_PARAMS,
    _WIDTH,
    Calculator,
    Picker,
    _approx,
    _ask,
    _bias_text,
    _fmt,
    _sample_boxes,
    _sample_logits,
    _shape_text,
    _Solution,
    _spatial,
)
from .formulas import InvalidConfig, _at_least, _pair, conv_output_size, pool2d_output_size, receptive_field
from .formulas_models import (
    DTYPE_BYTES,
    RESNET_CHANNELS,
    UNIT_BYTES,
    adam_steps,
    attention_macs,
    box_giou_diou,
    dice_iou,
    fpn_anchor_count,
    fpn_level_sizes,
    interpolate_size,
    kv_cache_memory,
    label_smoothing_cross_entropy,
    linear_source_index,
    mha_param_counts,
    model_memory,
    pixel_shuffle_shape,
    quantize_int8,
    resnet_stage_shape,
    rnn_param_count,
    tensor_memory,
    transformer_encoder_layer_params,
    unfold_shape,
    vit_token_counts,
    warmup_cosine_lr,
)
from .params import Param


def _sig(x: float, digits: int = 6) -> float:
    """Answers that may be small (learning rates, Adam updates): significant digits, not decimals."""
    return float(f"{x:.{digits}g}")


def _g(x: float) -> str:
    """Small numbers in worked text without losing them to 4 decimals."""
    return f"{x:.6g}" if x and abs(x) < 0.01 else _fmt(x)


# -- transformers -------------------------------------------------------------------------------

_MHA_ASK = {"total": "总参数量", "in_proj": "Q、K、V 三个输入投影（in_proj）的参数量"}


def _solve_mha(params: dict[str, Any]) -> _Solution:
    d, h, bias = params["embed_dim"], params["num_heads"], params["bias"]
    counts = mha_param_counts(d, h, bias)
    params["head_dim"] = d // h
    params["bias_text"] = _bias_text(bias)
    params["ask_text"] = _MHA_ASK[params["ask"]]
    b3, b1 = (f" + 3\\times{d}", f" + {d}") if bias else ("", "")
    lines = [
        f"nn.MultiheadAttention({d}, {h})（{params['bias_text']}）：{h} 个头各用 $d_h = {d}/{h} = {d // h}$ 维，"
        f"各头的投影拼起来仍是 ${d}\\times{d}$，所以头数不影响参数量：",
        rf"- in_proj：Q、K、V 三个 ${d}\times{d}$ 矩阵叠在一起（in_proj_weight 形状 $[3d, d]$），"
        rf"$3\times{d}^2{b3} = {counts['in_proj']}$",
        rf"- out_proj：${d}^2{b1} = {counts['out_proj']}$",
        rf"- 合计 $4d^2{' + 4d' if bias else ''} = {counts['total']}${_approx(counts['total'])}",
    ]
    return _Solution(counts[params["ask"]], "\n".join(lines), params)


_LAYER_ASK = {"total": "这一层的总参数量", "attention": "自注意力子层的参数量",
              "ffn": "前馈网络（两个线性层）的参数量", "norm": "两个 LayerNorm 的参数量"}


def _solve_transformer_layer(params: dict[str, Any]) -> _Solution:
    d, h = params["d_model"], params["nhead"]
    if params.get("dim_feedforward") is None:
        params["dim_feedforward"] = 4 * d
    ff = params["dim_feedforward"]
    counts = transformer_encoder_layer_params(d, h, ff)
    params["ask_text"] = _LAYER_ASK[params["ask"]]
    lines = [
        f"nn.TransformerEncoderLayer(d_model={d}, nhead={h}, dim_feedforward={ff})，所有线性层带偏置：",
        rf"- 自注意力：$4d^2 + 4d = 4\times{d}^2 + 4\times{d} = {counts['attention']}$（与头数无关）",
        rf"- FFN：$d\,d_{{ff}} + d_{{ff}} + d_{{ff}}\,d + d = {d}\times{ff} + {ff} + {ff}\times{d} + {d} = {counts['ffn']}$",
        rf"- 两个 LayerNorm，各有 $\gamma, \beta$：$2\times2\times{d} = {counts['norm']}$",
        rf"- 合计：${counts['attention']} + {counts['ffn']} + {counts['norm']} = {counts['total']}${_approx(counts['total'])}",
    ]
    return _Solution(counts[params["ask"]], "\n".join(lines), params)


_ATTN_ASK = {"qk": "计算注意力分数 $QK^T$ 的乘加次数（MACs）",
             "projections": "Q、K、V、输出四个线性投影的乘加次数（MACs）",
             "total": "整个注意力层的乘加次数（MACs，投影 + $QK^T$ + $AV$）",
             "flops": "整个注意力层的 FLOPs（1 次乘加 = 2 FLOPs）"}


def _solve_attention(params: dict[str, Any]) -> _Solution:
    n, d, h = params["seq_len"], params["embed_dim"], params["num_heads"]
    macs = attention_macs(n, d, h)
    params["head_dim"] = d // h
    params["ask_text"] = _ATTN_ASK[params["ask"]]
    answer = 2 * macs["total"] if params["ask"] == "flops" else macs[params["ask"]]
    lines = [
        f"序列长 $n = {n}$，$d = {d}$，{h} 个头（$d_h = {d // h}$），batch 为 1；softmax 与缩放不是乘加，不计：",
        rf"- 投影：Q、K、V、O 各是 $n\times d$ 乘 $d\times d$，$4nd^2 = 4\times{n}\times{d}^2 = {macs['projections']}$",
        rf"- $QK^T$：每个头 $(n\times d_h)(d_h\times n)$ 要 $n^2 d_h$ 次乘加，{h} 个头共 $n^2 d = {n}^2\times{d} = {macs['qk']}$",
        rf"- $AV$：每个头 $(n\times n)(n\times d_h)$，同样共 $n^2 d = {macs['av']}$",
        rf"- 合计 MACs：$4nd^2 + 2n^2d = {macs['total']}${_approx(macs['total'])}；"
        rf"FLOPs $= 2\times$ MACs $= {2 * macs['total']}${_approx(2 * macs['total'])}",
        rf"- 两个矩阵乘与投影之比 $2n^2d / 4nd^2 = n/(2d) = {_fmt(n / (2 * d))}$：$n > 2d$ 时注意力矩阵的平方项占主导。",
    ]
    return _Solution(answer, "\n".join(lines), params, rel_tolerance=0.01)


def _solve_rnn(params: dict[str, Any]) -> _Solution:
    cell, n_in, hid, layers = params["cell"], params["input_size"], params["hidden_size"], params["num_layers"]
    bi, bias = params["bidirectional"], params["bias"]
    total = rnn_param_count(cell, n_in, hid, layers, bias, bi)
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    dirs = 2 if bi else 1
    params["module"] = {"lstm": "nn.LSTM", "gru": "nn.GRU", "rnn": "nn.RNN"}[cell]
    params["direction_text"] = "双向" if bi else "单向"
    params["bias_text"] = _bias_text(bias)
    lines = [
        f"{params['module']} 每层每个方向有 {gates} 组门，每组一个 $W_{{ih}}$（$h\\times in$）、一个 $W_{{hh}}$（$h\\times h$）"
        + ("，以及 **两个** 偏置 $b_{ih}$、$b_{hh}$（PyTorch 分开存）：" if bias else "（不带偏置）："), "",
        rf"$$P_{{\text{{层, 方向}}}} = {gates}\,h\,(in + h)" + (rf" + 2\times{gates}\,h" if bias else "") + "$$", "",
    ]
    for layer in range(layers):
        layer_in = n_in if layer == 0 else hid * dirs
        per = gates * hid * (layer_in + hid) + (2 * gates * hid if bias else 0)
        note = "" if layer == 0 else f"（输入是上一层{'两个方向拼接的 ' if bi else '的 '}{layer_in} 维）"
        bias_term = rf" + 2\times{gates}\times{hid}" if bias else ""
        lines.append(rf"- 第 {layer + 1} 层{note}：${gates}\times{hid}\times({layer_in} + {hid}){bias_term} = {per}$"
                     + (rf"，两个方向 $\times 2 = {2 * per}$" if bi else ""))
    lines += ["", f"合计：{total}{_approx(total)}。"]
    return _Solution(total, "\n".join(lines), params)


_VIT_ASK = {"tokens": "送入 Transformer 的 token 数（含 [CLS]）", "patches": "图像被切成的 patch 数",
            "embed_params": "patch embedding 层（卷积实现，带偏置）的参数量",
            "pos_params": "可学习位置编码的参数量（含 [CLS] 的位置）"}


def _solve_vit(params: dict[str, Any]) -> _Solution:
    size, p, d, c = params["image_size"], params["patch_size"], params["embed_dim"], params["in_channels"]
    counts = vit_token_counts(size, p, d, c)
    side = size // p
    params["ask_text"] = _VIT_ASK[params["ask"]]
    lines = [
        f"patch embedding 就是 `nn.Conv2d({c}, {d}, kernel_size={p}, stride={p})`：",
        rf"- 每边 ${size}/{p} = {side}$ 个 patch，共 ${side}^2 = {counts['patches']}$ 个；加 1 个 [CLS] 共 {counts['tokens']} 个 token",
        rf"- 嵌入层参数：${d}\times{c}\times{p}\times{p} + {d} = {counts['embed_params']}$（每个 patch 展平成 ${c}\cdot{p}^2$ 维再线性映射到 {d} 维）",
        rf"- 位置编码：每个 token 一个 {d} 维向量，${counts['tokens']}\times{d} = {counts['pos_params']}$",
        "- patch 越小 token 越多，自注意力的计算量按 token 数的平方增长。",
    ]
    return _Solution(counts[params["ask"]], "\n".join(lines), params)


# -- shapes -------------------------------------------------------------------------------------


def _solve_pixel_shuffle(params: dict[str, Any]) -> _Solution:
    c, r = params["out_channels"], params["upscale_factor"]
    params["in_channels"] = c * r * r
    _spatial(params)
    shape = pixel_shuffle_shape(params["input_shape"], r)
    lines = [
        f"nn.PixelShuffle({r}) 把每 $r^2 = {r * r}$ 个通道重排成一个 ${r}\\times{r}$ 的空间块：",
        r"$$(N,\ C r^2,\ H,\ W) \rightarrow (N,\ C,\ rH,\ rW)$$",
        rf"- 通道：${c * r * r} / {r}^2 = {shape[1]}$",
        rf"- 高：${params['height']}\times{r} = {shape[2]}$，宽：${params['width']}\times{r} = {shape[3]}$",
        "- 元素总数不变，只是重排，没有参数。",
        "", f"输出形状（NCHW）：${_shape_text(shape)}$。",
    ]
    return _Solution(shape, "\n".join(lines), params)


def _solve_unfold(params: dict[str, Any]) -> _Solution:
    _spatial(params)
    shape = unfold_shape(params["input_shape"], params["kernel_size"], params["stride"], params["padding"],
                         params["dilation"])
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (_pair(params[n], n) for n in ("kernel_size", "stride", "padding", "dilation"))
    c, h, w = params["in_channels"], params["height"], params["width"]
    h_out, w_out = conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw)
    lines = [
        "F.unfold（im2col）把每个滑动窗口里的 $C\\cdot k_h\\cdot k_w$ 个值拉成一列，输出 $(N,\\ C k_h k_w,\\ L)$，"
        "$L$ 为窗口个数，按卷积输出尺寸公式计算：",
        rf"- 每列长度：${c}\times{kh}\times{kw} = {shape[1]}$",
        rf"- 窗口数：高 $\lfloor({h} + 2\times{ph} - {dh}\times({kh}-1) - 1)/{sh}\rfloor + 1 = {h_out}$，"
        rf"宽 $\lfloor({w} + 2\times{pw} - {dw}\times({kw}-1) - 1)/{sw}\rfloor + 1 = {w_out}$，$L = {h_out}\times{w_out} = {shape[2]}$",
        "", f"输出形状 $(N, C k_h k_w, L)$：${_shape_text(shape)}$。",
    ]
    return _Solution(shape, "\n".join(lines), params)


def _solve_interpolate(params: dict[str, Any]) -> _Solution:
    _spatial(params)
    s = params["scale_factor"]
    h, w = interpolate_size(params["height"], s), interpolate_size(params["width"], s)
    n, c = params["batch_size"], params["in_channels"]
    shape = (n, c, h, w)
    params["scale_text"] = _fmt(s)
    lines = [
        f"F.interpolate(scale_factor={_fmt(s)}, mode='{params['mode']}') 的输出尺寸是 $\\lfloor H\\cdot s \\rfloor$，"
        "与插值方式、align_corners 都无关：",
        rf"- 高：$\lfloor {params['height']}\times{_fmt(s)} \rfloor = \lfloor {_fmt(params['height'] * s)} \rfloor = {h}$",
        rf"- 宽：$\lfloor {params['width']}\times{_fmt(s)} \rfloor = \lfloor {_fmt(params['width'] * s)} \rfloor = {w}$",
        "- 插值逐通道进行，$N$、$C$ 不变。",
        "", f"输出形状（NCHW）：${_shape_text(shape)}$。",
    ]
    return _Solution(shape, "\n".join(lines), params)


def _sample_out_index(values: dict[str, Any], pick: Picker, rng: random.Random) -> None:
    if values.get("out_index") is None:
        _at_least(values["out_size"], 1, "out_size")
        values["out_index"] = rng.randrange(values["out_size"])


def _solve_source_index(params: dict[str, Any]) -> _Solution:
    i, n_in, n_out, corners = params["out_index"], params["in_size"], params["out_size"], params["align_corners"]
    if n_in == n_out:
        raise InvalidConfig("输入输出一样长，没有插值")
    raw = linear_source_index(i, n_in, n_out, corners)
    src = min(raw, n_in - 1)
    params["align_text"] = "True" if corners else "False"
    if corners:
        lines = [
            r"align_corners=True：两端像素的中心对齐，$x_{src} = i\cdot\frac{in - 1}{out - 1}$：",
            rf"- $x_{{src}} = {i}\times\frac{{{n_in} - 1}}{{{n_out} - 1}} = {_fmt(raw)}$",
        ]
    else:
        unclamped = (i + 0.5) * n_in / n_out - 0.5
        lines = [
            r"align_corners=False：像素看作面积为 1 的格子，按格子中心对齐，$x_{src} = (i + 0.5)\cdot\frac{in}{out} - 0.5$，"
            "小于 0 时取 0：",
            rf"- $x_{{src}} = ({i} + 0.5)\times\frac{{{n_in}}}{{{n_out}}} - 0.5 = {_fmt(unclamped)}$"
            + (r"，小于 0，取 $0$" if unclamped < 0 else ""),
        ]
    if raw > n_in - 1:
        lines.append(f"- 超过最后一个像素 {n_in - 1}，取它本身：$x_{{src}} = {n_in - 1}$")
    lo = min(int(math.floor(src)), n_in - 1)
    lines += [f"- 取值 $= (1-\\lambda)\\,x[{lo}] + \\lambda\\,x[{min(lo + 1, n_in - 1)}]$，"
              f"$\\lambda = {_fmt(src - lo)}$；对输入 $x = 0, 1, …, {n_in - 1}$ 插值恰好得到 $x_{{src}}$ 本身。",
              "", f"答案：${_fmt(src)}$。"]
    return _Solution(round(float(src), 4), "\n".join(lines), params, tolerance=0.01)


def _solve_resnet_stage(params: dict[str, Any]) -> _Solution:
    params["in_channels"] = 3
    _spatial(params)
    arch, stage = params["arch"], params["stage"]
    shape = resnet_stage_shape(params["input_shape"], arch, stage)
    params["arch_text"] = {"resnet18": "ResNet-18", "resnet50": "ResNet-50"}[arch]
    lines = ["每个下采样都是 $\\lfloor (H + 2p - k)/s \\rfloor + 1$，$s = 2$ 时等于 $\\lceil H/2 \\rceil$：", "",
             "| 层 | 高 | 宽 |", "|---|---|---|", f"| 输入 | {params['height']} | {params['width']} |"]
    h, w = params["height"], params["width"]
    steps = [("conv1 7×7/s2/p3", lambda x: conv_output_size(x, 7, 2, 3)),
             ("maxpool 3×3/s2/p1 → C2", lambda x: pool2d_output_size(x, 3, 2, 1)),
             ("layer2 首个 3×3/s2 → C3", lambda x: conv_output_size(x, 3, 2, 1)),
             ("layer3 首个 3×3/s2 → C4", lambda x: conv_output_size(x, 3, 2, 1)),
             ("layer4 首个 3×3/s2 → C5", lambda x: conv_output_size(x, 3, 2, 1))]
    for label, step in steps[:stage]:
        h, w = step(h), step(w)
        lines.append(f"| {label} | {h} | {w} |")
    channels = " / ".join(str(c) for c in RESNET_CHANNELS[arch])
    lines += ["", f"{params['arch_text']} 的 C2–C5 通道数为 {channels}"
              + ("（Bottleneck 的输出是中间宽度的 4 倍）" if arch == "resnet50" else "") + "；"
              f"C{stage} 的总步长为 $2^{stage} = {2 ** stage}$。",
              "", f"输出形状（NCHW）：${_shape_text(shape)}$。"]
    return _Solution(shape, "\n".join(lines), params)


def _solve_fpn_anchors(params: dict[str, Any]) -> _Solution:
    if params.get("width") is None:
        params["width"] = params["height"]
    lo, hi, a = params["min_level"], params["max_level"], params["anchors_per_location"]
    sizes = fpn_level_sizes(params["height"], params["width"], lo, hi)
    total = fpn_anchor_count(params["height"], params["width"], lo, hi, a)
    params["levels_text"] = f"P{lo}–P{hi}"
    lines = ["$P_l$ 的步长为 $2^l$；每次步长 2 的下采样（卷积或池化，$k=3, p=1$ 或 $k=1, p=0$）得到 $\\lceil H/2 \\rceil$，"
             "所以 $H_l$ 是把 $H$ 连续 $l$ 次除以 2 并向上取整（不是直接 $H/2^l$ 取整）：", "",
             "| 层 | 步长 | 特征图 | 位置数 | anchor 数 |", "|---|---|---|---|---|"]
    for level, (h, w) in sizes.items():
        lines.append(f"| P{level} | {2 ** level} | {h}×{w} | {h * w} | {h * w}×{a} = {h * w * a} |")
    lines += ["", f"合计：$({' + '.join(str(h * w) for h, w in sizes.values())})\\times{a} = {total}${_approx(total)}。"]
    return _Solution(total, "\n".join(lines), params)


# -- boxes and masks ----------------------------------------------------------------------------

_GIOU_ASK = {"giou": "GIoU", "giou_loss": "GIoU 损失 $1 - \\mathrm{GIoU}$", "diou": "DIoU"}


def _solve_giou(params: dict[str, Any]) -> _Solution:
    a, b = params["box_a"], params["box_b"]
    r = box_giou_diou(a, b)
    params["box_a_text"], params["box_b_text"] = _shape_text(a), _shape_text(b)
    params["ask_text"] = _GIOU_ASK[params["ask"]]
    cx = [_fmt(min(a[0], b[0])), _fmt(min(a[1], b[1])), _fmt(max(a[2], b[2])), _fmt(max(a[3], b[3]))]
    lines = [
        f"- IoU：交集 / 并集 $\\approx {r['iou']:.4f}$，并集 $= {_fmt(round(r['union'], 4))}$",
        f"- 最小外接框 $C = ({', '.join(cx)})$，面积 $|C| = {_fmt(round(r['hull'], 4))}$",
        rf"- GIoU $= \mathrm{{IoU}} - \frac{{|C| - |A\cup B|}}{{|C|}} \approx {r['iou']:.4f} - "
        rf"\frac{{{_fmt(round(r['hull'], 4))} - {_fmt(round(r['union'], 4))}}}{{{_fmt(round(r['hull'], 4))}}} \approx {r['giou']:.4f}$"
        rf"，损失 $1 - \mathrm{{GIoU}} \approx {r['giou_loss']:.4f}$",
        rf"- DIoU $= \mathrm{{IoU}} - \rho^2/c^2$：中心距离平方 $\rho^2 = {_fmt(round(r['centre_dist2'], 4))}$，"
        rf"外接框对角线平方 $c^2 = {_fmt(round(r['diag2'], 4))}$，DIoU $\approx {r['diou']:.4f}$",
        "- 两框不相交时 IoU 恒为 0、没有梯度；GIoU 与 DIoU 仍随距离变化，取值在 $(-1, 1]$。",
    ]
    return _Solution(round(r[params["ask"]], 4), "\n".join(lines), params, tolerance=0.01)


_DICE_ASK = {"dice": "Dice 系数", "iou": "IoU（Jaccard）"}


def _solve_dice(params: dict[str, Any]) -> _Solution:
    tp, fp, fn = params["tp"], params["fp"], params["fn"]
    r = dice_iou(tp, fp, fn)
    params["ask_text"] = _DICE_ASK[params["ask"]]
    lines = [
        f"预测前景 $|P| = TP + FP = {tp + fp}$，真值前景 $|G| = TP + FN = {tp + fn}$，交集 $TP = {tp}$：",
        rf"- Dice $= \frac{{2|P\cap G|}}{{|P| + |G|}} = \frac{{2\times{tp}}}{{{tp + fp} + {tp + fn}}} \approx {r['dice']:.4f}$",
        rf"- IoU $= \frac{{|P\cap G|}}{{|P\cup G|}} = \frac{{{tp}}}{{{tp} + {fp} + {fn}}} \approx {r['iou']:.4f}$",
        r"- 两者单调对应：$\mathrm{IoU} = \frac{D}{2 - D}$，Dice 总不小于 IoU；Dice 就是像素级的 F1。",
        "- 背景像素（TN）不出现在公式里，所以前景很小时，Dice 和 IoU 比像素准确率更能反映分割质量。",
    ]
    return _Solution(round(r[params["ask"]], 4), "\n".join(lines), params, tolerance=0.01)


# -- training -----------------------------------------------------------------------------------


def _sample_step(values: dict[str, Any], pick: Picker, rng: random.Random) -> None:
    if values.get("step") is None:
        _at_least(values["total_steps"], 1, "total_steps")
        values["step"] = rng.randint(0, values["total_steps"])


def _solve_lr(params: dict[str, Any]) -> _Solution:
    base, t, warm, total = params["base_lr"], params["step"], params["warmup_steps"], params["total_steps"]
    s, eta = params["start_factor"], params["eta_min"]
    lr = warmup_cosine_lr(base, t, warm, total, s, eta)
    if lr < 1e-3 * base:
        raise InvalidConfig(f"学习率 {lr} 几乎为 0，答 0 也差不多对")
    lines = [
        f"前 {warm} 步线性预热（LinearLR，从 ${_g(s)}\\times$ base 升到 base），之后余弦退火到 "
        f"$\\eta_{{min}} = {_g(eta)}$（CosineAnnealingLR，$T_{{max}} = {total} - {warm} = {total - warm}$）：", "",
        r"$$\eta_t = \begin{cases} \eta_0\left(s + (1-s)\frac{t}{W}\right) & t < W \\"
        r" \eta_{min} + \frac{\eta_0 - \eta_{min}}{2}\left(1 + \cos\frac{\pi (t - W)}{T - W}\right) & t \ge W\end{cases}$$", "",
    ]
    if t < warm:
        lines.append(rf"- $t = {t} < W = {warm}$，在预热阶段：${_g(base)}\times({_g(s)} + (1 - {_g(s)})\times{t}/{warm}) = {_g(lr)}$")
    else:
        angle = (t - warm) / (total - warm)
        cos = math.cos(math.pi * angle)
        cos_text = f"{cos:.4f}" if cos >= 0 else f"({cos:.4f})"
        lines.append(rf"- $t = {t} \ge W = {warm}$，在余弦阶段：进度 $({t} - {warm})/{total - warm} = {_fmt(angle)}$，"
                     rf"$\cos(\pi\times{_fmt(angle)}) \approx {cos:.4f}$")
        lines.append(rf"- $\eta_t = {_g(eta)} + \frac{{{_g(base)} - {_g(eta)}}}{{2}}\times(1 + {cos_text}) \approx {_g(lr)}$")
    lines.append("- 预热让自适应优化器的二阶矩估计先积累起来，也避免一开始用大学习率把随机初始化的参数推坏（大 batch 训练尤其需要）。")
    return _Solution(_sig(lr), "\n".join(lines), params, rel_tolerance=0.01)


def _sample_grads(values: dict[str, Any], pick: Picker, rng: random.Random) -> None:
    _at_least(values["num_steps"], 1, "num_steps")
    grads = [pick("grad") for _ in range(values["num_steps"])]
    if any(abs(g) < 0.1 for g in grads):
        raise InvalidConfig("梯度太接近 0，各步的比较不明显")
    values["grads"] = grads


_ADAM_ASK = {"m_hat": "最后一步偏差修正后的一阶矩 $\\hat m_t$", "v_hat": "最后一步偏差修正后的二阶矩 $\\hat v_t$",
             "update": "最后一步的更新量 $\\eta\\,\\hat m_t / (\\sqrt{\\hat v_t} + \\epsilon)$（带符号，参数减去它）",
             "total_update": "这几步参数一共减少了多少（$\\theta_0 - \\theta_t$）"}


def _solve_adam(params: dict[str, Any]) -> _Solution:
    grads, lr, b1, b2 = params["grads"], params["lr"], params["beta1"], params["beta2"]
    records = adam_steps(grads, lr, b1, b2)
    params["grads_text"] = ", ".join(_fmt(g) for g in grads)
    params["ask_text"] = _ADAM_ASK[params["ask"]]
    lines = [
        rf"$m_t = \beta_1 m_{{t-1}} + (1-\beta_1) g_t$，$v_t = \beta_2 v_{{t-1}} + (1-\beta_2) g_t^2$，"
        rf"$\hat m_t = m_t/(1-\beta_1^t)$，$\hat v_t = v_t/(1-\beta_2^t)$，"
        rf"更新量 $\eta\,\hat m_t/(\sqrt{{\hat v_t}} + \epsilon)$（$\beta_1 = {_fmt(b1)}$，$\beta_2 = {_fmt(b2)}$，"
        rf"$\eta = {_g(lr)}$，$\epsilon = 10^{{-8}}$ 可忽略）：", "",
        "| t | $g_t$ | $m_t$ | $v_t$ | $\\hat m_t$ | $\\hat v_t$ | 更新量 |", "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(f"| {r['t']} | {_fmt(r['g'])} | {r['m']:.6g} | {r['v']:.6g} | {r['m_hat']:.6g} | "
                     f"{r['v_hat']:.6g} | {r['update']:.6g} |")
    total = sum(r["update"] for r in records)
    lines += ["", f"- 累计更新：${total:.6g}$",
              "- 第 1 步 $\\hat m_1 = g_1$、$\\hat v_1 = g_1^2$，更新量恰为 $\\eta\\cdot\\mathrm{sign}(g_1)$，与梯度大小无关；"
              f"不做偏差修正时 $m_1 = (1-\\beta_1)\\,g_1 = {_fmt(round((1 - b1) * grads[0], 6))}$、"
              "$v_1 = (1-\\beta_2)\\,g_1^2$ 都被初值 0 拉低，$v$ 被拉低得更多（$\\beta_2$ 更接近 1），"
              f"第 1 步更新量的大小会变成 $\\eta\\,(1-\\beta_1)/\\sqrt{{1-\\beta_2}} \\approx {(1 - b1) / math.sqrt(1 - b2):.3g}\\,\\eta$"
              "（而不是 $\\eta$），偏差修正消除的正是这种早期失真。"]
    last = records[-1]
    answer = total if params["ask"] == "total_update" else last[params["ask"]]
    return _Solution(_sig(answer), "\n".join(lines), params, rel_tolerance=0.01)


_LS_ASK = {"loss": "带标签平滑的交叉熵损失（自然对数）", "target_weight": "平滑后目标类别的标签值"}


def _solve_label_smoothing(params: dict[str, Any]) -> _Solution:
    logits, t, eps = params["logits"], params["target"], params["smoothing"]
    r = label_smoothing_cross_entropy(logits, t, eps)
    c = len(logits)
    params["logits_text"] = "[" + ", ".join(_fmt(z) for z in logits) + "]"
    params["ask_text"] = _LS_ASK[params["ask"]]
    lines = [
        rf"label_smoothing $= \epsilon = {_fmt(eps)}$，$C = {c}$：目标分布为 $(1-\epsilon)\cdot$onehot $+ \epsilon/C$，"
        rf"即目标类 $1 - {_fmt(eps)} + {_fmt(eps)}/{c} = {r['target_weight']:.4f}$，其余各类 ${_fmt(eps)}/{c} = {r['other_weight']:.4f}$",
        r"- 各类 $-\ln p_j = \ln\sum_k e^{z_k} - z_j$：" + ", ".join(
            f"{r['plain'] + logits[t] - z:.4f}" for z in logits),
        rf"- 不平滑的交叉熵：$-\ln p_{{{t}}} \approx {r['plain']:.4f}$；各类平均 $\frac{{1}}{{C}}\sum_j -\ln p_j \approx {r['mean_nll']:.4f}$",
        rf"- 损失 $= (1-\epsilon)(-\ln p_{{{t}}}) + \epsilon\cdot\frac{{1}}{{C}}\sum_j(-\ln p_j) = "
        rf"{1 - eps:.4g}\times{r['plain']:.4f} + {_fmt(eps)}\times{r['mean_nll']:.4f} \approx {r['loss']:.4f}$",
        "- 平滑后即使预测完全正确损失也不为 0，模型不会把 logit 推向无穷，置信度更校准。",
    ]
    return _Solution(round(r[params["ask"]], 4), "\n".join(lines), params, tolerance=0.01)


# -- quantisation and memory --------------------------------------------------------------------


def _sample_x(values: dict[str, Any], pick: Picker, rng: random.Random) -> None:
    if values.get("x") is None:
        values["x"] = round(rng.uniform(values["x_min"], values["x_max"]), 2)


_QUANT_ASK = {"scale": "量化尺度 scale", "zero_point": "零点 zero_point", "q": "x 量化后的整数值 q",
              "dequant": "反量化后的值 $\\hat x$"}


# The error |x - x̂| is at most scale/2, often under 0.01: a tolerance of 0.01 would accept x unquantised.
DEQUANT_TOLERANCE = 0.001


def _solve_quant(params: dict[str, Any]) -> _Solution:
    x, lo, hi, scheme, ask = params["x"], params["x_min"], params["x_max"], params["scheme"], params["ask"]
    r = quantize_int8(x, lo, hi, scheme)
    if ask == "zero_point" and scheme == "symmetric":
        raise InvalidConfig("对称量化的零点恒为 0，没什么可算的")
    if ask == "q" and r["q"] in (0, r["zero_point"]):
        raise InvalidConfig("x 量化到 0 或零点，不看题也能猜中")
    if ask == "dequant" and r["error"] <= DEQUANT_TOLERANCE:
        # The point is the rounding error: answering x itself must not pass.
        raise InvalidConfig("反量化值与 x 相差不超过容差，照抄 x 也算对")
    params["scheme_text"] = {"symmetric": "对称量化（qint8，取值 [-127, 127]，零点为 0）",
                             "affine": "非对称量化（quint8，取值 [0, 255]）"}[scheme]
    params["ask_text"] = _QUANT_ASK[ask]
    scale, zp, q = r["scale"], r["zero_point"], r["q"]
    if scheme == "symmetric":
        amax = max(abs(lo), abs(hi))
        lines = [rf"- 对称：$\text{{scale}} = \max(|x_{{min}}|, |x_{{max}}|)/127 = {_fmt(amax)}/127 \approx {scale:.6f}$，零点 0"]
    else:
        low, high = min(lo, 0.0), max(hi, 0.0)
        lines = [rf"- 非对称：$\text{{scale}} = (x_{{max}} - x_{{min}})/255 = ({_fmt(high)} - ({_fmt(low)}))/255 \approx {scale:.6f}$",
                 rf"- 零点：$zp = \mathrm{{round}}(-x_{{min}}/\text{{scale}}) = \mathrm{{round}}({-low / scale:.4f}) = {zp}$（保证 0 能被精确表示）"]
    ratio = x / scale
    lines += [
        rf"- 量化：$q = \mathrm{{clamp}}(\mathrm{{round}}(x/\text{{scale}}) + zp) = \mathrm{{round}}({_fmt(x)}/{scale:.6f}) + {zp}"
        rf" = \mathrm{{round}}({ratio:.4f}) + {zp} = {q}$",
        rf"- 反量化：$\hat x = (q - zp)\cdot\text{{scale}} = ({q} - {zp})\times{scale:.6f} \approx {r['dequant']:.4f}$，"
        rf"误差 $|x - \hat x| \approx {r['error']:.4f}$，不超过 scale/2",
        "- 范围里的离群值会把 scale 拉大，使其余值的误差都变大，所以校准常用百分位数或 KL 散度而不是最值。",
    ]
    worked = "\n".join(lines)
    if ask in ("zero_point", "q"):
        return _Solution(int(r[ask]), worked, params)
    if ask == "scale":
        return _Solution(_sig(scale), worked, params, rel_tolerance=0.01)
    return _Solution(round(r["dequant"], 4), worked, params, tolerance=DEQUANT_TOLERANCE)


def _unit_text(unit: str) -> str:
    power = {"MB": "10^6", "MiB": "2^{20}", "GB": "10^9", "GiB": "2^{30}"}[unit]
    return f"1 {unit} = ${power}$ 字节"


def _dtype_line(dtype: str) -> str:
    return f"{dtype} 每个元素 {DTYPE_BYTES[dtype]} 字节"


def _solve_activation(params: dict[str, Any]) -> _Solution:
    _spatial(params)
    shape, dtype, unit = params["input_shape"], params["dtype"], params["unit"]
    value = tensor_memory(shape, dtype, unit)
    numel = math.prod(shape)
    dims = r" \times ".join(str(v) for v in shape)
    params["unit_text"] = _unit_text(unit)
    lines = [
        rf"- 元素个数：${dims} = {numel}${_approx(numel)}",
        rf"- {_dtype_line(dtype)}：${numel}\times{DTYPE_BYTES[dtype]} = {numel * DTYPE_BYTES[dtype]}$ 字节",
        rf"- 换算（{params['unit_text']}）：$\approx {_fmt(value)}$ {unit}",
        "- 训练时前向的中间激活要留到反向传播使用，显存主要花在这里，随 batch 与分辨率线性增长；"
        "混合精度把它减半，梯度检查点用重算换显存。",
    ]
    return _Solution(_sig(value), "\n".join(lines), params, rel_tolerance=0.01)


def _solve_kv_cache(params: dict[str, Any]) -> _Solution:
    names = ("num_layers", "batch_size", "seq_len", "num_kv_heads", "head_dim")
    layers, batch, n, heads, dh = (params[k] for k in names)
    dtype, unit = params["dtype"], params["unit"]
    value = kv_cache_memory(layers, batch, n, heads, dh, dtype, unit)
    numel = 2 * layers * batch * heads * n * dh
    params["unit_text"] = _unit_text(unit)
    lines = [
        r"每层缓存 K 和 V 各一个 $(B, h_{kv}, n, d_h)$ 的张量：",
        rf"- 元素数：$2\times L\times B\times h_{{kv}}\times n\times d_h = 2\times{layers}\times{batch}\times{heads}\times{n}\times{dh} = {numel}${_approx(numel)}",
        rf"- {_dtype_line(dtype)}：${numel}\times{DTYPE_BYTES[dtype]} = {numel * DTYPE_BYTES[dtype]}$ 字节",
        rf"- 换算（{params['unit_text']}）：$\approx {_fmt(value)}$ {unit}",
        "- 与序列长度、batch 成正比；GQA/MQA 减少 $h_{kv}$（几个查询头共用一组 K/V），是压缩 KV cache 最直接的办法。",
    ]
    return _Solution(_sig(value), "\n".join(lines), params, rel_tolerance=0.01)


_MODEL_ASK = {"weights": "只存权重所需的内存", "adam": "用 Adam 训练时权重、梯度与两份动量共需的内存（不计激活）"}


def _solve_model_memory(params: dict[str, Any]) -> _Solution:
    millions, dtype, unit, ask = params["num_params_m"], params["dtype"], params["unit"], params["ask"]
    count = round(millions * 1_000_000)
    if ask == "adam" and dtype == "int8":
        raise InvalidConfig("int8 权重不能直接用 Adam 训练")
    value = model_memory(count, dtype, unit, adam=ask == "adam")
    params["num_params"] = count
    params["unit_text"] = _unit_text(unit)
    params["ask_text"] = _MODEL_ASK[ask]
    size = DTYPE_BYTES[dtype]
    lines = [
        rf"- 权重：${_fmt(millions)}\times10^6$ 个参数 $\times$ {size} 字节（{dtype}）$= {count * size}$ 字节"
        rf" $\approx {_fmt(model_memory(count, dtype, unit))}$ {unit}（{params['unit_text']}）",
    ]
    if dtype != "int8":
        lines += [
            rf"- Adam 训练：梯度与权重同形同类型，Adam 再为每个参数存 exp_avg、exp_avg_sq 两份，共 4 份："
            rf"$4\times{count * size} = {4 * count * size}$ 字节 $\approx {_fmt(model_memory(count, dtype, unit, adam=True))}$ {unit}",
            "- 混合精度训练通常还另存一份 fp32 主权重，实际比这更多；激活另算。",
        ]
    return _Solution(_sig(value), "\n".join(lines), params, rel_tolerance=0.01)


def _sample_dilations(values: dict[str, Any], pick: Picker, rng: random.Random) -> None:
    _at_least(values["num_layers"], 1, "num_layers")
    values["layers"] = [{"kernel_size": values["kernel_size"], "stride": 1, "dilation": pick("dilation")}
                        for _ in range(values["num_layers"])]


def _solve_dilated_rf(params: dict[str, Any]) -> _Solution:
    layers = params["layers"]
    rf = receptive_field(layers)
    k = params["kernel_size"]
    params["dilations_text"] = ", ".join(str(layer["dilation"]) for layer in layers)
    lines = [rf"stride 全为 1，每层把感受野扩大 $d\,(k-1)$：$RF = 1 + \sum_i d_i\,(k-1)$，$k = {k}$：", "",
             "| 层 | d | 等效核 $d(k-1)+1$ | RF |", "|---|---|---|---|"]
    cur = 1
    for i, layer in enumerate(layers, 1):
        d = layer["dilation"]
        cur += d * (k - 1)
        lines.append(f"| {i} | {d} | {d * (k - 1) + 1} | {cur - d * (k - 1)} + {d}×{k - 1} = {cur} |")
    lines += ["", f"最终感受野 ${rf}\\times{rf}$，参数量与不空洞时相同。连续使用相同的 $d>1$ 会留下从未被采样的网格"
              "（gridding），HDC 用互质的空洞率（如 1, 2, 5）避免。"]
    return _Solution(rf, "\n".join(lines), params)


# -- registry entries ---------------------------------------------------------------------------

_DTYPE = list(DTYPE_BYTES)
_UNITS = list(UNIT_BYTES)


def _choice(default: Any, options: list[str], help_text: str) -> Param:
    return Param("choice", default, help_text + "，可选 " + " / ".join(options), tuple(options))


MODEL_CALCULATORS = [
    Calculator("mha_params", "多头注意力参数量", "numeric", {
        "embed_dim": Param("int", [256, 512, 768, 1024]),
        "num_heads": Param("int", [4, 8, 12, 16], "须整除 embed_dim，否则重抽"),
        "bias": Param("bool", True),
        "ask": _ask("total", _MHA_ASK),
    }, _solve_mha, derived="head_dim, bias_text, ask_text"),
    Calculator("transformer_layer_params", "Transformer 编码器层参数量", "numeric", {
        "d_model": Param("int", [256, 512, 768, 1024]),
        "nhead": Param("int", [8, 16], "须整除 d_model，否则重抽"),
        "dim_feedforward": Param("int", None, "null = 4·d_model", nullable=True),
        "ask": _ask("total", _LAYER_ASK),
    }, _solve_transformer_layer, derived="ask_text"),
    Calculator("attention_macs", "自注意力计算量", "numeric", {
        "seq_len": Param("int", [64, 128, 196, 256, 512, 1024]),
        "embed_dim": Param("int", [256, 512, 768]),
        "num_heads": Param("int", [8, 12], "须整除 embed_dim，否则重抽"),
        "ask": _ask("qk", _ATTN_ASK),
    }, _solve_attention, derived="head_dim, ask_text"),
    Calculator("rnn_params", "LSTM / GRU 参数量", "numeric", {
        "cell": _choice("lstm", ["lstm", "gru", "rnn"], "循环单元"),
        "input_size": Param("int", [32, 64, 100, 128, 300]),
        "hidden_size": Param("int", [64, 128, 256, 512]),
        "num_layers": Param("int", [1, 2]),
        "bidirectional": Param("bool", [False, True]),
        "bias": Param("bool", True),
    }, _solve_rnn, derived="module（nn.LSTM 等）, direction_text, bias_text"),
    Calculator("vit_tokens", "ViT 的 patch 与 token", "numeric", {
        "image_size": Param("int", [224, 256, 384]),
        "patch_size": Param("int", [8, 14, 16, 32], "须整除 image_size，否则重抽"),
        "embed_dim": Param("int", [384, 768, 1024]),
        "in_channels": Param("int", 3),
        "ask": _ask("tokens", _VIT_ASK),
    }, _solve_vit, derived="ask_text"),
    Calculator("pixel_shuffle_shape", "PixelShuffle 输出形状", "shape", {
        "batch_size": Param("int", 1),
        "out_channels": Param("int", [3, 8, 16, 32, 64], "输出通道 C；输入通道为 C·r²"),
        "upscale_factor": Param("int", [2, 3, 4]),
        "height": Param("int", {"min": 8, "max": 64}),
        "width": _WIDTH,
    }, _solve_pixel_shuffle, derived="in_channels（= out_channels·r²）, input_shape"),
    Calculator("unfold_shape", "unfold（im2col）输出形状", "shape", {
        "batch_size": Param("int", 1),
        "in_channels": Param("int", [3, 8, 16, 32, 64]),
        "height": Param("int", {"min": 6, "max": 32}),
        "width": _WIDTH,
        "kernel_size": Param("pair", [2, 3, 4]),
        "stride": Param("pair", [1, 2]),
        "padding": Param("pair", [0, 1]),
        "dilation": Param("pair", 1),
    }, _solve_unfold, derived="input_shape", order="NCL"),
    Calculator("interpolate_shape", "插值上/下采样输出形状", "shape", {
        "batch_size": Param("int", 1),
        "in_channels": Param("int", [3, 16, 64, 256]),
        "height": Param("int", {"min": 7, "max": 64}),
        "width": _WIDTH,
        "scale_factor": Param("float", [0.5, 0.75, 1.5, 2, 2.5, 3]),
        "mode": _choice("bilinear", ["bilinear", "nearest", "bicubic"], "插值方式（不影响尺寸）"),
    }, _solve_interpolate, derived="input_shape, scale_text"),
    Calculator("interpolate_source_index", "双线性插值的采样坐标", "numeric", {
        "in_size": Param("int", {"min": 3, "max": 8}),
        "out_size": Param("int", {"min": 4, "max": 16}),
        "out_index": Param("int", None, "null = 在 [0, out_size) 中随机", nullable=True),
        "align_corners": Param("bool", [False, True]),
    }, _solve_source_index, sample=_sample_out_index, derived="align_text"),
    Calculator("resnet_stage_shape", "ResNet 各阶段特征图形状", "shape", {
        "batch_size": Param("int", 1),
        "height": Param("int", {"min": 200, "max": 800}),
        "width": _WIDTH,
        "arch": _choice("resnet50", list(RESNET_CHANNELS), "torchvision 的结构"),
        "stage": Param("int", [2, 3, 4, 5], "C2…C5"),
    }, _solve_resnet_stage, derived="in_channels（= 3）, input_shape, arch_text（ResNet-50 等）"),
    Calculator("fpn_anchor_count", "FPN 各层 anchor 总数", "numeric", {
        "height": Param("int", {"min": 320, "max": 1024}),
        "width": _WIDTH,
        "min_level": Param("int", 3),
        "max_level": Param("int", 7),
        "anchors_per_location": Param("int", 9),
    }, _solve_fpn_anchors, derived="levels_text（如 P3–P7）"),
    Calculator("box_giou", "GIoU / DIoU", "numeric", {
        **_BOX_PARAMS,
        "ask": _ask("giou", _GIOU_ASK),
    }, _solve_giou, sample=_sample_boxes, per_item=_BOX_ITEMS,
        derived="box_a, box_b, box_a_text, box_b_text, ask_text"),
    Calculator("dice_iou", "Dice 与 IoU（像素计数）", "numeric", {
        "tp": Param("int", {"min": 100, "max": 5000}),
        "fp": Param("int", {"min": 0, "max": 2000}),
        "fn": Param("int", {"min": 0, "max": 2000}),
        "ask": _ask("dice", _DICE_ASK),
    }, _solve_dice, derived="ask_text"),
    Calculator("warmup_cosine_lr", "预热 + 余弦退火学习率", "numeric", {
        "base_lr": Param("float", [0.1, 0.05, 0.01]),
        "warmup_steps": Param("int", [5, 10]),
        "total_steps": Param("int", [50, 100, 200]),
        "start_factor": Param("float", [0.1, 0.2]),
        "eta_min": Param("float", 0),
        "step": Param("int", None, "null = 在 [0, total_steps] 中随机", nullable=True),
    }, _solve_lr, sample=_sample_step),
    Calculator("adam_step", "Adam 的偏差修正与更新量", "numeric", {
        "lr": Param("float", [0.001, 0.01, 0.1]),
        "beta1": Param("float", 0.9),
        "beta2": Param("float", 0.999),
        "num_steps": Param("int", [1, 2, 3]),
        "grad": Param("float", {"min": -2.0, "max": 2.0}, "每步独立抽取；|g| < 0.1 重抽"),
        "ask": _ask("update", _ADAM_ASK),
    }, _solve_adam, sample=_sample_grads, per_item=("grad",), derived="grads（列表）, grads_text, ask_text"),
    Calculator("label_smoothing_ce", "标签平滑交叉熵", "numeric", {
        "num_classes": Param("int", [3, 4, 5]),
        "logit": Param("float", {"min": -2, "max": 3}, "每个类别独立抽取"),
        "smoothing": Param("float", [0.1, 0.2]),
        "ask": _ask("loss", _LS_ASK),
    }, _solve_label_smoothing, sample=_sample_logits, per_item=("logit",),
        derived="logits, logits_text, target（从 0 开始的类别下标）, ask_text"),
    Calculator("int8_quantization", "int8 量化与反量化", "numeric", {
        "scheme": _choice("symmetric", ["symmetric", "affine"], "量化方式"),
        "x_min": Param("float", {"min": -6, "max": -0.5}),
        "x_max": Param("float", {"min": 0.5, "max": 6}),
        "x": Param("float", None, "null = 在 [x_min, x_max] 中随机（两位小数）", nullable=True),
        "ask": _ask("q", _QUANT_ASK),
    }, _solve_quant, sample=_sample_x, derived="scheme_text, ask_text"),
    Calculator("activation_memory", "张量 / 激活的内存", "numeric", {
        "batch_size": Param("int", [1, 8, 16, 32]),
        "in_channels": Param("int", [64, 128, 256]),
        "height": Param("int", [28, 56, 112, 224]),
        "width": _WIDTH,
        "dtype": _choice("float32", _DTYPE, "元素类型"),
        "unit": _choice("MiB", _UNITS, "答案单位"),
    }, _solve_activation, derived="input_shape, unit_text"),
    Calculator("kv_cache_memory", "KV cache 显存", "numeric", {
        "num_layers": Param("int", [24, 32, 40]),
        "batch_size": Param("int", [1, 4, 8]),
        "seq_len": Param("int", [2048, 4096, 8192]),
        "num_kv_heads": Param("int", [8, 32]),
        "head_dim": Param("int", [64, 128]),
        "dtype": _choice("float16", _DTYPE, "元素类型"),
        "unit": _choice("GiB", _UNITS, "答案单位"),
    }, _solve_kv_cache, derived="unit_text"),
    Calculator("model_memory", "模型权重与训练状态的内存", "numeric", {
        "num_params_m": Param("float", [11.7, 25.6, 86.6, 138.4], "参数量，单位百万"),
        "dtype": _choice("float32", _DTYPE, "权重类型"),
        "unit": _choice("MB", _UNITS, "答案单位"),
        "ask": _ask("weights", _MODEL_ASK),
    }, _solve_model_memory, derived="num_params, unit_text, ask_text"),
    Calculator("dilated_receptive_field", "空洞卷积堆叠的感受野", "numeric", {
        "num_layers": Param("int", {"min": 2, "max": 4}),
        "kernel_size": Param("int", 3),
        "dilation": Param("int", [1, 2, 4, 8], "每层独立抽取"),
    }, _solve_dilated_rf, sample=_sample_dilations, per_item=("dilation",),
        derived="layers, dilations_text（如 1, 2, 4）"),
]
