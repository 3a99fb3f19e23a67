"""Pure calculators behind "generated" questions (the bottom layer: imports nothing of the app).

formulas   the plain math, with PyTorch semantics (tests/test_calculators.py checks it against torch)
formulas_models  the same for transformers, RNNs, detection/segmentation, training, quantisation, memory
                 (tests/test_calculators_models.py)
params     parameter specs of generated items: fixed values, choices and {min, max} ranges
base       what every calculator shares: the Calculator entry, instances, text helpers
generated  the calculators themselves: draw an instance with its worked explanation, validate ranges
           (generated_models holds the second family's calculators)
"""

from __future__ import annotations

from .formulas import (
    InvalidConfig,
    batchnorm_param_counts,
    box_iou,
    conv2d_macs,
    conv2d_output_shape,
    conv2d_param_count,
    conv_output_size,
    conv_transpose2d_output_shape,
    conv_transpose_output_size,
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
from .formulas_models import (
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
from .generated import CALCULATORS, Calculator, Instance, draw, validate_ranges
from .params import Param, ParamRangeError

__all__ = [
    "CALCULATORS",
    "Calculator",
    "Instance",
    "InvalidConfig",
    "Param",
    "ParamRangeError",
    "adam_steps",
    "attention_macs",
    "batchnorm_param_counts",
    "box_giou_diou",
    "box_iou",
    "conv2d_macs",
    "conv2d_output_shape",
    "conv2d_param_count",
    "conv_output_size",
    "conv_transpose2d_output_shape",
    "conv_transpose_output_size",
    "depthwise_separable_param_counts",
    "dice_iou",
    "draw",
    "fpn_anchor_count",
    "fpn_level_sizes",
    "interpolate_size",
    "inverted_dropout",
    "kv_cache_memory",
    "label_smoothing_cross_entropy",
    "linear_param_count",
    "linear_source_index",
    "mha_param_counts",
    "model_memory",
    "pixel_shuffle_shape",
    "pool2d_output_shape",
    "pool2d_output_size",
    "precision_recall_f1",
    "quantize_int8",
    "receptive_field",
    "resnet_stage_shape",
    "rnn_param_count",
    "softmax_cross_entropy",
    "stacked_conv_param_counts",
    "tensor_memory",
    "transformer_encoder_layer_params",
    "unfold_shape",
    "validate_ranges",
    "vit_token_counts",
    "warmup_cosine_lr",
]
