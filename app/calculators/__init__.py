"""Pure calculators behind "generated" questions (the bottom layer: imports nothing of the app).

formulas   the plain math, with PyTorch semantics (tests/test_calculators.py checks it against torch)
params     parameter specs of generated items: fixed values, choices and {min, max} ranges
generated  the calculators themselves: draw an instance with its worked explanation, validate ranges
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
from .generated import CALCULATORS, Calculator, Instance, draw, validate_ranges
from .params import Param, ParamRangeError

__all__ = [
    "CALCULATORS",
    "Calculator",
    "Instance",
    "InvalidConfig",
    "Param",
    "ParamRangeError",
    "batchnorm_param_counts",
    "box_iou",
    "conv2d_macs",
    "conv2d_output_shape",
    "conv2d_param_count",
    "conv_output_size",
    "conv_transpose2d_output_shape",
    "conv_transpose_output_size",
    "depthwise_separable_param_counts",
    "draw",
    "inverted_dropout",
    "linear_param_count",
    "pool2d_output_shape",
    "pool2d_output_size",
    "precision_recall_f1",
    "receptive_field",
    "softmax_cross_entropy",
    "stacked_conv_param_counts",
    "validate_ranges",
]
