"""`dlcourse vision train` refuses what would fail later before it reads or decodes any image:
pretrained weights missing offline, a weights file that is not one, image folders too small to
train on; each as one ``error:`` line that says what to do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

LITE = ("--arch", "efficientnet_lite0", "--weights", "none", "--device", "cpu")


@pytest.fixture
def no_decoding(monkeypatch):
    """Decoding an image file fails the test."""
    import dlcourse.vision.images as images

    def refuse(*args, **kwargs):
        raise AssertionError("images were decoded before the check")

    monkeypatch.setattr(images, "load_image_files", refuse)


@pytest.fixture
def no_data_read(monkeypatch, no_decoding):
    """Reading a data set (or decoding an image file) fails the test."""
    import dlcourse.vision.named_sets as named_sets

    def refuse(*args, **kwargs):
        raise AssertionError("data was read before the check")

    monkeypatch.setattr(named_sets, "load_named", refuse)


def test_default_resnet18_offline_is_refused_first_with_the_fixes(cli_run, workdir,
                                                                  isolated_cache, monkeypatch,
                                                                  no_data_read):
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    result = cli_run("vision", "train", "fashion-mnist", "--out", "x", "--dry-run")
    result.assert_user_error(r"resnet18's ImageNet weights \(IMAGENET1K_V1\) are not in the "
                             r"cache .*`dlcourse data fetch resnet18-imagenet`.*--arch "
                             r"efficientnet_lite0.*--weights none")
    assert result.out == "" and not Path("x").exists()


def test_an_online_only_set_offline_is_refused_before_the_weights(cli_run, workdir,
                                                                   isolated_cache, monkeypatch,
                                                                   no_data_read):
    # the weights' error came first and advised --arch efficientnet_lite0, which then met
    # this one: CIFAR-10 itself cannot be had offline
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    result = cli_run("vision", "train", "cifar-10", "--out", "x", "--dry-run")
    result.assert_user_error(r"data set 'cifar-10' is not available: .*downloads are off")
    assert "ImageNet weights" not in result.err and not Path("x").exists()


@pytest.fixture
def weight_files(workdir):
    """Files a user may pass as --weights, none of them a state dict of resnet18."""
    import torch

    Path("afile").write_bytes(b"hi\n")                      # the audit's file
    Path("folder.pth").mkdir()
    torch.save(torch.nn.Linear(3, 2), "whole.pt")           # a pickled module, not a state dict
    torch.save(torch.nn.Linear(3, 2).state_dict(), "linear.pth")
    torch.save({"epoch": 3}, "nostate.pt")
    Path("cut.pth").write_bytes(Path("linear.pth").read_bytes()[:200])
    return workdir


@pytest.mark.parametrize(("weights", "match"), [
    ("afile", r"weights afile is not a readable weights file \(neither a PyTorch nor a "
              r"safetensors file\); give a PyTorch state dict .* or a \.safetensors file of "
              r"resnet18"),
    ("whole.pt", r"not a readable weights file \(it holds pickled objects.*a whole model"),
    ("cut.pth", r"weights cut\.pth is cut short"),
    ("nostate.pt", r"do not hold a state dict"),
    ("linear.pth", r"do not fit resnet18: 122 of its 122 tensors missing .*2 unknown "
                   r"\(e\.g\. weight\)"),
    ("folder.pth", r"weights folder\.pth is a folder"),
])
def test_a_bad_weights_file_is_refused_before_the_data(cli_run, weight_files, no_data_read,
                                                       weights, match):
    before = weight_files()
    result = cli_run("vision", "train", "fashion-mnist", "--out", "x", "--dry-run",
                     "--weights", weights)
    result.assert_user_error(match)
    assert result.out == "" and weight_files() == before


def test_a_lukemelas_named_state_dict_of_another_shape_is_refused(tmp_path):
    import torch

    from dlcourse.errors import IncompatibleModelError
    from dlcourse.vision.weights import check_weights, lite0_weights_path

    state = torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)
    state["_fc.weight"] = state["_fc.weight"][:10]            # a 10-class head
    torch.save(state, tmp_path / "lite10.pth")
    with pytest.raises(IncompatibleModelError, match=r"shape classifier\.weight \(10, 1280\) "
                                                     r"instead of \(1000, 1280\)"):
        check_weights("efficientnet_lite0", str(tmp_path / "lite10.pth"))


@pytest.fixture
def small_folders(workdir, png_writer):
    """Image folders too small to train on, each missing something different."""
    rng = np.random.default_rng(0)
    png_writer(Path("emptyclass/cat/a.png").absolute(), rng)
    Path("emptyclass/dog").mkdir()
    for name in ("cat", "dog"):                              # 1 readable image a class + 1 bad
        png_writer(Path(f"few/{name}/a.png").absolute(), rng)
    Path("few/cat/bad.png").write_bytes(b"junk")
    for file in ("a.png", "b.png"):
        png_writer(Path(f"oneclass/cat/{file}").absolute(), rng)
    for file in ("a.png", "b.png"):                          # train/val layout, dog's only
        png_writer(Path(f"split/train/cat/{file}").absolute(), rng)   # training file is bad
        for name in ("cat", "dog"):
            png_writer(Path(f"split/val/{name}/{file}").absolute(), rng)
    Path("split/train/dog").mkdir()
    for name in ("cat", "dog"):                              # half a train/val layout
        png_writer(Path(f"trainonly/train/{name}/a.png").absolute(), rng)
        png_writer(Path(f"valonly/val/{name}/a.png").absolute(), rng)
    Path("split/train/dog/bad.png").write_bytes(b"junk")
    Path("split/train/cat/bad.png").write_bytes(b"junk")  # another class's, read first
    return workdir


@pytest.mark.parametrize(("folder", "match"), [
    ("emptyclass", r"class folder emptyclass/dog holds no image files \(\.jpg.*add images or "
                   r"remove it"),
    ("few", r"class folder few/dog holds only 1 image file\(s\); splitting few into training "
            r"and validation images needs at least 2 per class: add images, or lay out "
            r"few/train/<class>/ and few/val/<class>/"),
    ("oneclass", r"oneclass has one class folder \(cat\); a classifier needs at least 2"),
    # each was "has one class folder (train); a classifier needs at least 2"
    ("trainonly", r"trainonly holds train/ but no val/ \(or valid/, test/\) beside it: add "
                  r"trainonly/val/<class>/ with validation images, or move the class folders "
                  r"of trainonly/train up into trainonly to split them by seed"),
    ("valonly", r"valonly holds val/ but no train/ beside it: add valonly/train/<class>/ with "
                r"training images"),
])
def test_a_folder_too_small_is_refused_before_decoding(cli_run, small_folders, no_decoding,
                                                       folder, match):
    before = small_folders()
    result = cli_run("vision", "train", folder, "--out", "run", "--dry-run", *LITE)
    result.assert_user_error(match)
    assert result.out == "" and small_folders() == before


def test_a_class_without_readable_training_images_is_named(cli_run, small_folders):
    result = cli_run("vision", "train", "split", "--out", "run", "--dry-run", *LITE)
    result.assert_user_error(r"class 'dog' has no readable training image \(1 unreadable "
                             r"file\(s\) skipped, e\.g\. cannot read image "
                             r"split/train/dog/bad\.png.*add images of it")
    assert not Path("run").exists()


def test_evaluate_limit_speaks_of_test_images_only(cli_run):
    import re

    def limit_help(verb: str) -> str:
        out = cli_run("vision", verb, "--help").out
        return " ".join(re.search(r"--limit.*?(?=\n  --)", out, re.S).group(0).split())

    assert "Use this many test images" in limit_help("evaluate")
    assert "training" not in limit_help("evaluate")
    assert "training and this many test images" in limit_help("train")


@pytest.fixture
def class_folders(workdir, png_writer, vision_model):
    """``abc/`` (3 classes x 3 images), ``xy/`` (2 classes, one file unreadable) and ``vis/``,
    a model of the classes dark and bright."""
    import shutil

    rng = np.random.default_rng(0)
    for folder, classes in (("abc", "abc"), ("xy", "xy")):
        for name in classes:
            for i in range(3):
                png_writer(Path(folder, name, f"{i}.png").absolute(), rng, size=8)
    Path("xy/x/bad.png").write_bytes(b"junk")
    shutil.copytree(vision_model, "vis")
    return workdir


@pytest.mark.parametrize("data", ["xy", "abc", "mnist-5k", "cifar-100"])
def test_evaluate_refuses_other_classes_before_decoding(cli_run, class_folders, no_data_read,
                                                       data):
    # the images were decoded (and their unreadable files reported) before the refusal
    before = class_folders()
    result = cli_run("vision", "evaluate", "vis", data, "--device", "cpu")
    result.assert_user_error(rf"the classes of DATA {data} \(.*\) differ from the model's "
                             r"\(dark, bright\); evaluate vis on data with its classes")
    assert result.err.count("\n") == 1 and class_folders() == before


def test_a_folder_the_model_did_not_train_on_is_scored_whole(cli_run, workdir, png_writer,
                                                             vision_model):
    # its images were split as if for training and only a fifth scored, the count unsaid; its
    # class folders, sorted otherwise than the model's classes, were refused
    import json
    import shutil

    rng = np.random.default_rng(0)
    for name in ("dark", "bright"):
        for i in range(5):
            png_writer(Path("held", name, f"{i}.png"), rng, size=8)
    shutil.copytree(vision_model, "vis")
    result = cli_run("vision", "evaluate", "vis", "held", "--device", "cpu", "--out", "e")
    assert result.code == 0, result.err
    assert "scoring all 10 images of held (a folder the model did not train on)" in result.err
    assert json.loads(Path("e/evaluation.json").read_text())["n_test"] == 10


@pytest.mark.parametrize(("data", "limit", "classes"), [("abc", 2, 3), ("mnist-5k", 9, 10),
                                                        ("cifar-100", 99, 100)])
def test_a_limit_below_the_classes_is_refused_before_decoding(cli_run, class_folders,
                                                              no_data_read, data, limit, classes):
    before = class_folders()
    result = cli_run("vision", "train", data, "--out", "run", "--limit", limit, *LITE)
    result.assert_user_error(rf"--limit {limit} is below the {classes} classes of {data}")
    assert result.err.count("\n") == 1 and class_folders() == before
