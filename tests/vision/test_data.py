"""Vision data: in-memory sets, image folders with bad files, subsets, named sets, preprocessing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.errors import DlcourseError
from dlcourse.vision.data import ArrayImageDataset, split_stratified, stratified_subset
from dlcourse.vision.images import load_image, load_image_folder
from dlcourse.vision.named_sets import load_named
from dlcourse.vision.transforms import BatchPreprocess


def test_array_dataset_accepts_grey_channels_last_and_channels_first():
    grey = ArrayImageDataset(np.zeros((3, 28, 28), np.uint8), [0, 1, 2], list("abc"))
    hwc = ArrayImageDataset(np.zeros((3, 32, 32, 3), np.uint8), [0, 1, 2], list("abc"))
    chw = ArrayImageDataset(np.zeros((3, 3, 32, 32), np.uint8), [0, 1, 2], list("abc"))
    assert grey[0][0].shape == (1, 28, 28)
    assert hwc[0][0].shape == chw[0][0].shape == (3, 32, 32)


def test_array_dataset_rejects_bad_input_with_a_clear_message():
    with pytest.raises(ValueError, match="uint8"):
        ArrayImageDataset(np.zeros((2, 8, 8), np.float32), [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        ArrayImageDataset(np.zeros((2, 8, 8), np.uint8), [0, 2], ["a", "b"])
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        ArrayImageDataset(np.zeros((2, 8, 8), np.uint8), [0, 1, 1], ["a", "b"])
    # one colour image without its batch axis was read as 24 grey images 3 pixels wide
    with pytest.raises(ValueError, match=r"24 grey images 3 pixels wide; .*images\[None\]"):
        ArrayImageDataset(np.zeros((24, 24, 3), np.uint8), [0] * 24, ["a", "b"])
    # float or text labels were truncated or a torch error: class indices only
    with pytest.raises(ValueError, match="labels must be integer class indices, got float64"):
        ArrayImageDataset(np.zeros((2, 8, 8), np.uint8), [0.5, 1.5], ["a", "b"])
    with pytest.raises(ValueError, match="labels must be integer class indices, got <U1"):
        ArrayImageDataset(np.zeros((2, 8, 8), np.uint8), ["a", "b"], ["a", "b"])


def test_stratified_subset_is_balanced_and_seeded(fashion_test):
    sub = stratified_subset(fashion_test, 100, seed=3)
    assert len(sub) == 100
    assert np.bincount(sub.labels.numpy(), minlength=10).tolist() == [10] * 10
    again = stratified_subset(fashion_test, 100, seed=3)
    assert torch.equal(sub.images, again.images)
    assert not torch.equal(sub.images, stratified_subset(fashion_test, 100, seed=4).images)


def test_stratified_subset_gives_the_remainder_to_classes_drawn_by_the_seed():
    """Fewer images than classes: which classes get one depends on the seed (it was always
    the first ones, so --limit 5 of a 10-class set tested classes 0-4 only)."""
    ds = ArrayImageDataset(np.zeros((40, 4, 4), np.uint8), np.arange(40) % 10, list("abcdefghij"))
    kept = [frozenset(stratified_subset(ds, 5, seed).labels.tolist()) for seed in range(8)]
    assert all(len(k) == 5 for k in kept)                  # 5 images of 5 different classes
    assert len(set(kept)) > 1
    assert kept[3] == frozenset(stratified_subset(ds, 5, 3).labels.tolist())


def test_split_stratified_holds_out_each_class():
    labels = np.repeat(np.arange(4), 10)
    tr, va = split_stratified(labels, 0.2, seed=0)
    assert len(set(tr) & set(va)) == 0 and len(tr) + len(va) == 40
    assert np.bincount(labels[va]).tolist() == [2, 2, 2, 2]


def test_fingerprint_changes_with_pixels(fashion_test):
    a = fashion_test.subset(range(10))
    b = fashion_test.subset(range(1, 11))
    assert a.fingerprint() == fashion_test.subset(range(10)).fingerprint()
    assert a.fingerprint() != b.fingerprint()


def test_subset_takes_a_boolean_mask_as_numpy_does():
    images = np.arange(4 * 2 * 2, dtype=np.uint8).reshape(4, 2, 2)
    ds = ArrayImageDataset(images, [0, 1, 0, 1], ["a", "b"])
    mask = np.array([True, False, False, True])
    picked = ds.subset(mask)  # was images 1, 0, 0, 1: the mask read as positions
    assert len(picked) == 2 and picked.labels.tolist() == [0, 1]
    assert torch.equal(picked.images, ds.subset([0, 3]).images)
    assert torch.equal(ds.subset(ds.labels.numpy() == 1).images, ds.subset([1, 3]).images)
    with pytest.raises(DlcourseError, match="one value each; got shape \\(3,\\)"):
        ds.subset([True, False, True])
    with pytest.raises(DlcourseError, match="integer positions or a boolean mask"):
        ds.subset([0.5, 1.0])
    assert len(ds.subset([])) == 0


def test_folder_skips_a_truncated_image_and_counts_it(image_folder, caplog):
    train, valid = load_image_folder(image_folder, size=16, valid_fraction=0.25, seed=0)
    assert train.classes == ["blue", "red"]
    assert len(train) + len(valid) == 12                  # 13 files, the broken one skipped
    assert train.images.shape[1:] == (3, 16, 16)
    assert "broken.png" in caplog.text and "skipped 1 unreadable" in caplog.text
    assert [p.name for p in train.skipped + valid.skipped] == ["broken.png"]


def test_parallel_decoding_gives_the_same_images_in_the_same_order(image_folder):
    one = load_image_folder(image_folder, size=16, seed=0, num_workers=0)
    two = load_image_folder(image_folder, size=16, seed=0, num_workers=2)
    for a, b in zip(one, two):
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
        assert a.skipped == b.skipped
    assert [p.name for p in one[0].skipped + one[1].skipped] == ["broken.png"]


def test_folder_stops_on_a_bad_image_when_asked(image_folder):
    with pytest.raises(DlcourseError, match=r"broken\.png.*skip"):
        load_image_folder(image_folder, size=16, on_bad="stop")


def test_folder_with_train_and_val_subfolders(tmp_path, png_writer):
    rng = np.random.default_rng(1)
    for split, n in (("train", 3), ("val", 2)):
        for name in ("cat", "dog"):
            for i in range(n):
                png_writer(tmp_path / split / name / f"{i}.png", rng)
    train, valid = load_named(str(tmp_path), size=12)
    assert (len(train), len(valid)) == (6, 4)
    assert train.classes == valid.classes == ["cat", "dog"]


def test_without_train_only_the_validation_images_are_decoded(tmp_path, png_writer):
    """What evaluate loads: unreadable training files neither stop it nor get named."""
    rng = np.random.default_rng(1)
    for name in ("cat", "dog"):
        (tmp_path / "train" / name).mkdir(parents=True)
        (tmp_path / "train" / name / "junk.png").write_bytes(b"junk")
        png_writer(tmp_path / "val" / name / "0.png", rng)
    train, valid = load_named(str(tmp_path), size=12, with_train=False)
    assert train is None and len(valid) == 2 and valid.classes == ["cat", "dog"]
    assert load_named("mnist-5k", with_train=False)[0] is None
    with pytest.raises(DlcourseError, match="no readable images among the 2 training files"):
        load_named(str(tmp_path), size=12)


def test_load_image_names_the_missing_or_bad_file(tmp_path):
    with pytest.raises(DlcourseError, match="does not exist"):
        load_image(tmp_path / "nope.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(DlcourseError, match=r"cannot read image .*bad\.jpg"):
        load_image(bad)


def test_unknown_data_set_lists_the_choices():
    with pytest.raises(DlcourseError, match="fashion-mnist"):
        load_named("imagenette-does-not-exist")


def test_preprocess_grey_to_rgb_resize_and_normalise():
    pre = BatchPreprocess(32, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)).eval()
    white = torch.full((2, 1, 28, 28), 255, dtype=torch.uint8)
    out = pre(white)
    assert out.shape == (2, 3, 32, 32)
    assert torch.allclose(out, torch.full_like(out, 2.0))  # (1 - 0.5) / 0.25


def test_augmentation_shifts_and_flips_only_in_training():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    pre = BatchPreprocess(32, augment=True)
    assert torch.equal(pre.eval()(x), pre.eval()(x))
    a, b = pre.train()(x), pre.train()(x)
    assert a.shape == (16, 3, 32, 32) and not torch.equal(a, b)
    torch.manual_seed(1)
    a = pre(x)
    torch.manual_seed(1)
    assert torch.equal(a, pre(x))                          # seeded: reproducible


def test_mnist_5k_is_split_by_class_and_seed():
    train, test = load_named("mnist-5k", seed=0)
    assert (len(train), len(test)) == (4000, 1000)
    assert np.bincount(test.labels.numpy()).tolist() == [100] * 10
    again, _ = load_named("mnist-5k", seed=0)
    assert torch.equal(train.labels, again.labels)


def test_unreadable_images_are_reported_by_rank_0_alone(monkeypatch, caplog):
    # under torchrun both "skipped ..." lines came once per process
    from pathlib import Path

    from dlcourse.vision.images import BadImages

    bad = BadImages([Path("a/bad.png")], ["cannot read image a/bad.png"])
    for rank, lines in (("1", 0), ("0", 2)):
        monkeypatch.setenv("RANK", rank)
        caplog.clear()
        bad.report(11, "training files")
        assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == lines, rank
