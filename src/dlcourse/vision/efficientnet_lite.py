"""EfficientNet-Lite0 with TensorFlow 'same' padding, loadable from the offline ImageNet weights.

EfficientNet-Lite0 is EfficientNet-B0 made for mobile chips: no squeeze-excitation, ReLU6 instead
of swish, and a fixed 32-channel stem and 1280-channel head. The offline weights
(``efficientnet-lite0-57934424.pth``, converted from the TensorFlow TPU checkpoint) use
lukemelas' ``efficientnet_pytorch`` key names; :func:`convert_lukemelas_state_dict` maps them onto
the names used here, and loading is strict.

Preprocessing of the TensorFlow lite models: RGB scaled as ``(pixel - 127) / 128``, i.e. mean 0.498
and std 0.502 on [0, 1] images, at 224 px (not the usual ImageNet mean/std).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.errors import InputError

#: Normalisation of the lite models on [0, 1] pixels: (x*255 - 127) / 128.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3
LITE_IMAGE_SIZE = 224
LITE_FEATURES = 1280


@dataclass(frozen=True)
class _Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    c_in: int
    c_out: int


# The seven stages of EfficientNet-B0 / Lite0 (width and depth multipliers 1.0).
_LITE0_STAGES = (
    _Stage(1, 3, 1, 1, 32, 16),
    _Stage(2, 3, 2, 6, 16, 24),
    _Stage(2, 5, 2, 6, 24, 40),
    _Stage(3, 3, 2, 6, 40, 80),
    _Stage(3, 5, 1, 6, 80, 112),
    _Stage(4, 5, 2, 6, 112, 192),
    _Stage(1, 3, 1, 6, 192, 320),
)

# TensorFlow's batch-norm epsilon (the weights' running variances assume it). Its momentum (0.99
# there, 0.01 in torch's convention) suits ImageNet-length runs only: after the few hundred steps
# of a lesson the running statistics would still be near their initial values, and a network
# trained from scratch would predict one class in eval mode. Torch's default 0.1 is used instead.
_BN_EPS = 1e-3
_BN_MOMENTUM = 0.1


class SameConv2d(nn.Conv2d):
    """A bias-free Conv2d with TensorFlow 'SAME' padding (asymmetric for even inputs at stride 2).

    The output is ``ceil(input / stride)`` wide; the extra padding pixel goes bottom/right, as in
    TensorFlow, which the pretrained weights expect.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1):
        # stride 1 with an odd kernel: SAME is the symmetric k//2 padding, done inside the conv
        super().__init__(c_in, c_out, kernel, stride=stride, padding=kernel // 2 if stride == 1
                         else 0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] == 1:
            return super().forward(x)
        ih, iw = x.shape[-2:]
        k, s = self.kernel_size[0], self.stride[0]
        pad_h = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
        pad_w = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, None, self.stride, 0, 1, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise kxk, 1x1 project (+ skip when shapes match).

    ``drop_rate`` is stochastic depth on the residual branch (training only).
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int,
                 drop_rate: float = 0.0):
        super().__init__()
        hidden = c_in * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self.expand = SameConv2d(c_in, hidden, 1)
            self.expand_bn = _bn(hidden)
        self.depthwise = SameConv2d(hidden, hidden, kernel, stride, groups=hidden)
        self.depthwise_bn = _bn(hidden)
        self.project = SameConv2d(hidden, c_out, 1)
        self.project_bn = _bn(c_out)
        self.use_skip = stride == 1 and c_in == c_out
        self.drop_rate = drop_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x                                                    # (B, c_in, H, W)
        if self.has_expand:
            h = F.relu6(self.expand_bn(self.expand(h)))          # (B, c_in*e, H, W)
        h = F.relu6(self.depthwise_bn(self.depthwise(h)))        # (B, c_in*e, H/s, W/s)
        h = self.project_bn(self.project(h))                     # (B, c_out, H/s, W/s), linear
        if self.use_skip:
            if self.training and self.drop_rate > 0:
                # drop the whole residual branch per sample, rescaled to keep the expectation
                keep = 1.0 - self.drop_rate
                mask = torch.rand(h.shape[0], 1, 1, 1, device=h.device, dtype=h.dtype) < keep
                h = h * mask / keep
            h = h + x
        return h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 (4.65M parameters) for ``num_classes`` classes.

    Args:
        num_classes: size of the classifier layer (1000 for the ImageNet weights).
        dropout: dropout before the classifier (0.2 in the original training).
        drop_connect_rate: stochastic-depth rate: block i of n (from 0) drops with ``rate * i / n``.

    ``forward_features(x)`` returns the pooled (B, 1280) features; ``forward(x)`` the logits.
    Any input size works (the weights were trained at 224 px).

    Example:
        >>> net = EfficientNetLite0(num_classes=10)
        >>> net(torch.zeros(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2,
                 drop_connect_rate: float = 0.2):
        super().__init__()
        self.stem = SameConv2d(3, 32, 3, stride=2)
        self.stem_bn = _bn(32)
        n_blocks = sum(st.repeats for st in _LITE0_STAGES)
        blocks = []
        for st in _LITE0_STAGES:
            for r in range(st.repeats):
                rate = drop_connect_rate * len(blocks) / n_blocks
                blocks.append(MBConv(st.c_in if r == 0 else st.c_out, st.c_out, st.kernel,
                                     st.stride if r == 0 else 1, st.expand, rate))
        self.blocks = nn.Sequential(*blocks)
        self.head_conv = SameConv2d(320, LITE_FEATURES, 1)
        self.head_bn = _bn(LITE_FEATURES)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(LITE_FEATURES, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise for training from scratch (as torchvision's EfficientNet does).

        He-normal (fan-out) convolutions keep activations from vanishing through 50 layers;
        PyTorch's default conv init would shrink them to ~0 and a from-scratch run would not learn.
        """
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, 1280) of images (B, 3, H, W).

        Args:
            x: float images (B, 3, H, W) normalised with ``LITE_MEAN``/``LITE_STD``, any size.
        """
        x = F.relu6(self.stem_bn(self.stem(x)))                  # (B, 32, H/2, W/2)
        x = self.blocks(x)                                       # (B, 320, H/32, W/32)
        x = F.relu6(self.head_bn(self.head_conv(x)))             # (B, 1280, H/32, W/32)
        return x.mean(dim=(2, 3))                                # (B, 1280)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes) of images (B, 3, H, W) normalised with LITE_MEAN/LITE_STD."""
        return self.classifier(self.dropout(self.forward_features(x)))


_BLOCK_KEY = re.compile(r"^_blocks\.(\d+)\.(_\w+)\.(.+)$")
_BLOCK_NAMES = {"_expand_conv": "expand", "_bn0": "expand_bn", "_depthwise_conv": "depthwise",
                "_bn1": "depthwise_bn", "_project_conv": "project", "_bn2": "project_bn"}
_TOP_NAMES = {"_conv_stem": "stem", "_bn0": "stem_bn", "_conv_head": "head_conv",
              "_bn1": "head_bn", "_fc": "classifier"}


def convert_lukemelas_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an ``efficientnet_pytorch``-style Lite0 state dict to :class:`EfficientNetLite0` keys.

    ``_blocks.3._depthwise_conv.weight`` -> ``blocks.3.depthwise.weight``,
    ``_conv_stem.weight`` -> ``stem.weight``, ``_fc.bias`` -> ``classifier.bias`` ...

    Args:
        state: a state dict in lukemelas' key names (``_conv_stem.weight`` ...); not modified.

    Raises:
        ValueError: for a key that is not part of EfficientNet-Lite0 (e.g. B0's ``_se_reduce``).
    """
    out = {}
    for key, value in state.items():
        m = _BLOCK_KEY.match(key)
        if m and m.group(2) in _BLOCK_NAMES:
            out[f"blocks.{m.group(1)}.{_BLOCK_NAMES[m.group(2)]}.{m.group(3)}"] = value
            continue
        top, _, rest = key.partition(".")
        if top not in _TOP_NAMES or m:
            raise InputError(f"unexpected key {key!r} in an EfficientNet-Lite0 state dict; "
                             "is this a Lite0 checkpoint (no squeeze-excitation)?")
        out[f"{_TOP_NAMES[top]}.{rest}"] = value
    return out


def load_lite0_state_dict(model: EfficientNetLite0, state: dict[str, torch.Tensor]) -> None:
    """Load Lite0 weights strictly, accepting either this module's or lukemelas' key names."""
    if any(k.startswith("_") for k in state):
        state = convert_lukemelas_state_dict(state)
    model.load_state_dict(state, strict=True)
