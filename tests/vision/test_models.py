"""Backbones by name, weights from files or the offline cache, head replacement, clear errors."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import torch

from dlcourse.errors import DataUnavailableError, DlcourseError
from dlcourse.vision.models import backbone_groups, build_backbone, build_model
from dlcourse.vision.weights import fetch_weights


@pytest.mark.parametrize(("arch", "dim"), [("resnet18", 512), ("mobilenet_v3_small", 1024),
                                           ("efficientnet_lite0", 1280)])
def test_head_is_replaced_for_any_class_count(arch, dim):
    net, info = build_model(arch, 7, weights="none")
    assert info.feature_dim == dim and net.head.out_features == 7
    net.eval()
    with torch.no_grad():
        assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 7)
        assert net.features(torch.zeros(2, 3, 32, 32)).shape == (2, dim)


@pytest.mark.slow
@pytest.mark.parametrize(("arch", "dim"), [("resnet34", 512), ("resnet50", 2048),
                                           ("mobilenet_v3_large", 1280),
                                           ("efficientnet_b0", 1280), ("convnext_tiny", 768)])
def test_every_torchvision_backbone_builds(arch, dim):
    net, info = build_model(arch, 3, weights="none")
    assert info.feature_dim == dim
    with torch.no_grad():
        assert net.eval()(torch.zeros(1, 3, 64, 64)).shape == (1, 3)


def test_offline_lite0_weights_are_loaded_with_lite_preprocessing():
    backbone, info = build_backbone("efficientnet_lite0", "imagenet")
    assert info.weights == "IMAGENET1K_V1" and info.image_size == 224
    assert info.mean[0] == pytest.approx(127 / 255) and info.std[0] == pytest.approx(128 / 255)
    assert backbone.stem_bn.running_var.abs().sum() > 0
    fresh, _ = build_backbone("efficientnet_lite0", "none")
    assert not torch.equal(backbone.stem.weight, fresh.stem.weight)


def test_weights_from_a_local_state_dict_file(tmp_path):
    import torchvision

    torch.manual_seed(1)
    source = torchvision.models.resnet18()
    path = tmp_path / "r18.pth"
    torch.save(source.state_dict(), path)
    backbone, info = build_backbone("resnet18", str(path))
    assert info.weights.startswith("file:")
    assert torch.equal(backbone.layer4[1].conv2.weight, source.layer4[1].conv2.weight)


def test_a_state_dict_of_another_architecture_is_refused(tmp_path):
    import torchvision

    path = tmp_path / "mnv3.pth"
    torch.save(torchvision.models.mobilenet_v3_small().state_dict(), path)
    with pytest.raises(DlcourseError, match="do not fit resnet18"):
        build_backbone("resnet18", str(path))


def test_weights_from_a_safetensors_file(tmp_path):
    import torchvision
    from safetensors.torch import save_file

    torch.manual_seed(2)
    source = torchvision.models.resnet18()
    save_file(source.state_dict(), tmp_path / "r18.safetensors")
    backbone, info = build_backbone("resnet18", str(tmp_path / "r18.safetensors"))
    assert torch.equal(backbone.layer1[0].conv1.weight, source.layer1[0].conv1.weight)


def test_cached_resnet18_weights_work_offline(isolated_cache, monkeypatch):
    import torchvision

    from dlcourse.data import dataset_dir

    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    torch.manual_seed(3)
    source = torchvision.models.resnet18()
    folder = dataset_dir("resnet18-imagenet")
    folder.mkdir(parents=True)
    torch.save(source.state_dict(), folder / "resnet18-f37072fd.pth")
    backbone, info = build_backbone("resnet18", "imagenet")
    assert info.weights == "IMAGENET1K_V1" and info.image_size == 224
    assert torch.equal(backbone.conv1.weight, source.conv1.weight)


def test_missing_weights_offline_are_refused_without_a_download(isolated_cache, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted offline")

    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    monkeypatch.setattr(urllib.request, "urlopen", no_download)
    with pytest.raises(DataUnavailableError, match="downloads are off") as err:
        fetch_weights("resnet34", "imagenet")
    message = str(err.value)
    assert "resnet34-b627a593.pth" in message and "--weights PATH" in message
    assert "--arch efficientnet_lite0" in message and "\n" not in message


def test_a_failed_download_gives_the_reason_and_the_offline_choices(isolated_cache,
                                                                    monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataUnavailableError, match="no network") as err:
        build_backbone("resnet34", "imagenet")
    assert "--weights none" in str(err.value) and "\n" not in str(err.value)
    assert not (isolated_cache / "weights" / "resnet34-b627a593.pth").exists()


def test_unknown_names_list_the_choices(tmp_path):
    with pytest.raises(ValueError, match="choose one of .*resnet18.*efficientnet_lite0"):
        build_model("resnet19", 10)
    with pytest.raises(ValueError, match="IMAGENET1K_V1"):
        build_backbone("resnet18", "IMAGENET9K")
    with pytest.raises(DlcourseError, match="does not exist"):
        build_backbone("resnet18", str(tmp_path / "none.pth"))


def test_backbone_groups_cover_every_parameter_in_order():
    net, _ = build_model("efficientnet_lite0", 2, weights="none")
    groups = backbone_groups(net.backbone, 4)
    assert len(groups) == 4
    flat = [p for g in groups for p in g]
    assert [id(p) for p in flat] == [id(p) for p in net.backbone.parameters()]
