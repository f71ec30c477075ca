"""EfficientNet-Lite0: exact loading of the offline ImageNet weights and sensible predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.vision.efficientnet_lite import (
    LITE_MEAN,
    LITE_STD,
    EfficientNetLite0,
    SameConv2d,
    convert_lukemelas_state_dict,
    load_lite0_state_dict,
)


@pytest.fixture(scope="module")
def lite0_state():
    from dlcourse.vision.weights import lite0_weights_path

    return torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def pretrained(lite0_state):
    net = EfficientNetLite0()
    load_lite0_state_dict(net, lite0_state)
    return net.eval()


def test_state_dict_maps_onto_every_parameter_strictly(lite0_state):
    converted = convert_lukemelas_state_dict(lite0_state)
    net = EfficientNetLite0()
    own = net.state_dict()
    assert set(converted) == set(own)                    # nothing missing, nothing left over
    assert all(converted[k].shape == own[k].shape for k in own)
    net.load_state_dict(converted, strict=True)
    original = lite0_state["_blocks.3._depthwise_conv.weight"]
    assert torch.equal(net.blocks[3].depthwise.weight, original)
    assert sum(p.numel() for p in net.parameters()) == 4_652_008


def test_b0_keys_with_squeeze_excitation_are_rejected(lite0_state):
    state = dict(lite0_state)
    state["_blocks.1._se_reduce.weight"] = torch.zeros(4, 96, 1, 1)
    with pytest.raises(ValueError, match="_se_reduce"):
        convert_lukemelas_state_dict(state)


@pytest.mark.parametrize(("size", "stride"), [(224, 2), (225, 2), (31, 1), (7, 2)])
def test_same_padding_gives_ceil_size_and_pads_bottom_right(size, stride):
    conv = SameConv2d(1, 1, 3, stride)
    torch.nn.init.ones_(conv.weight)
    x = torch.ones(1, 1, size, size)
    y = conv(x)
    assert y.shape[-1] == -(-size // stride)
    if size % 2 == 0 and stride == 2:
        # TensorFlow pads the extra pixel at the end: the first output sees no padding
        assert y[0, 0, 0, 0] == 9.0 and y[0, 0, -1, -1] == 4.0


def _photo(img: np.ndarray) -> torch.Tensor:
    """Resize the shorter side to 256, centre-crop 224, normalise as the lite models expect."""
    x = torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float() / 255    # (1, 3, H, W)
    h, w = x.shape[-2:]
    x = F.interpolate(x, size=(256, round(w * 256 / h)), mode="bilinear", antialias=True)
    left = (x.shape[-1] - 224) // 2
    x = x[..., 16:240, left:left + 224]
    return (x - torch.tensor(LITE_MEAN).view(1, 3, 1, 1)) / torch.tensor(LITE_STD).view(1, 3, 1, 1)


def test_pretrained_network_recognises_real_photos(pretrained):
    from sklearn.datasets import load_sample_images
    from torchvision.models import ResNet18_Weights

    categories = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    china, flower = load_sample_images().images           # a temple in China, a flower
    with torch.no_grad():
        probs = pretrained(torch.cat([_photo(china), _photo(flower)])).softmax(dim=1)
    top5 = [[categories[i] for i in row] for row in probs.topk(5, dim=1).indices.tolist()]
    buildings = {"palace", "monastery", "church", "bell cote", "stupa", "castle", "mosque",
                 "dome", "pagoda", "temple", "boathouse", "triumphal arch"}
    flowers = {"daisy", "yellow lady's slipper", "pot", "bee", "hip", "cardoon", "ant"}
    assert buildings & set(top5[0]), top5[0]
    assert flowers & set(top5[1]), top5[1]
    assert top5[0][0] in buildings and top5[1][0] == "daisy"
    assert probs[0].max() > 0.2 and probs[1].max() > 0.2  # confident, not a flat distribution


def test_from_scratch_init_keeps_activations_alive():
    torch.manual_seed(0)
    net = EfficientNetLite0(num_classes=10).train()       # batch statistics, as in training
    feats = net.forward_features(torch.randn(8, 3, 64, 64))
    assert feats.std(dim=0).mean() > 1e-2                 # images give different features
    assert torch.isfinite(feats).all()
