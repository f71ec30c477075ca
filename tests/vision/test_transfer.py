"""ImageClassifier: feature extraction on real images, fine-tuning, caching, save/load, metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.errors import DlcourseError
from dlcourse.vision.data import ArrayImageDataset, stratified_subset
from dlcourse.vision.transfer import ImageClassifier, TransferConfig, evaluation_from_logits


def _tiny(n=16, size=16, seed=0):
    """Two learnable classes: bright vs dark grey squares with noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.integers(0, 80, (n, size, size), dtype=np.uint8) + (labels * 150)[:, None, None]
    return ArrayImageDataset(images.astype(np.uint8), labels, ["dark", "bright"])


def _finetune(**kw):
    base = dict(arch="efficientnet_lite0", weights="none", mode="finetune", image_size=16,
                epochs=1, batch_size=16, device="cpu")
    return ImageClassifier(TransferConfig(**{**base, **kw}))


@pytest.fixture(scope="module")
def fashion_small(fashion_test):
    train = stratified_subset(fashion_test.subset(np.arange(5000)), 200, seed=0)
    rest = fashion_test.subset(np.arange(5000, 10000))    # disjoint from the training images
    test = stratified_subset(rest, 100, seed=1)
    return train, test


def test_pretrained_features_learn_fashion_mnist(fashion_small, no_feature_cache_writes):
    train, test = fashion_small
    clf = ImageClassifier(arch="efficientnet_lite0", weights="imagenet", mode="features",
                          image_size=32, epochs=30, optimizer="adamw", lr=3e-3, batch_size=50,
                          device="cpu")
    clf.fit(train, test)
    losses = [h["train_loss"] for h in clf.history_]
    assert losses[-1] < 0.5 * losses[0]
    result = clf.evaluate(test)
    # 10 classes, 20 training images each: chance is 0.10; measured about 0.70 at 32 px
    assert result.top1 > 0.55 and result.top5 > 0.9
    assert result.confusion.sum() == len(test) and result.confusion.shape == (10, 10)
    assert np.isclose(np.trace(result.confusion) / len(test), result.top1)
    # the second run reads the cached features instead of running the backbone again
    import dlcourse.vision.features as features

    def no_backbone(*args, **kwargs):
        raise AssertionError("backbone run despite the cache")

    original = features.compute_features
    features.compute_features = no_backbone
    try:
        again = ImageClassifier(clf.config).fit(train, test)
    finally:
        features.compute_features = original
    assert torch.equal(again.model_.head.weight, clf.model_.head.weight)
    assert len(list(no_feature_cache_writes.glob("*.pt"))) == 2


def test_same_seed_same_weights_and_another_seed_differs():
    ds = _tiny(16)
    a, b, c = _finetune().fit(ds), _finetune().fit(ds), _finetune(seed=1).fit(ds)
    sa, sb, sc = (m.model_.state_dict() for m in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["head.weight"], sc["head.weight"])


@pytest.mark.slow
def test_finetune_loss_falls_on_a_learnable_task():
    clf = _finetune(epochs=4, optimizer="adamw", lr=3e-3, backbone_lr_mult=1.0,
                    augment=False).fit(_tiny(64))
    losses = [h["train_loss"] for h in clf.history_]
    assert losses[-1] < losses[0]


def test_save_load_gives_the_same_predictions(tmp_path, png_writer):
    ds = _tiny()
    clf = _finetune().fit(ds)
    clf.save(tmp_path / "model")
    loaded = ImageClassifier.load(tmp_path / "model", device="cpu")
    assert loaded.classes_ == ["dark", "bright"] and loaded.image_size == 16
    assert torch.allclose(loaded.logits(ds), clf.logits(ds), atol=1e-5)
    state = torch.load(tmp_path / "model" / "model.pt", weights_only=True)
    assert state["lesson"] == "vision" and state["config"]["arch"] == "efficientnet_lite0"
    rng = np.random.default_rng(0)
    files = [png_writer(tmp_path / f"{i}.png", rng, size=40) for i in range(3)]
    preds = loaded.predict(files, k=2)
    assert len(preds) == 3 and all(len(p) == 2 for p in preds)
    assert all(p[0][1] >= p[1][1] and 0.99 < p[0][1] + p[1][1] <= 1.0 + 1e-6 for p in preds)
    assert preds == clf.predict(files, k=2)


def test_gradual_unfreezing_thaws_from_the_head_side():
    from dlcourse.engine import seed_everything
    from dlcourse.vision.models import build_model

    seed_everything(0)                                     # what fit() does before building
    init = build_model("efficientnet_lite0", 2, "none")[0].backbone.state_dict()
    clf = _finetune(epochs=1, unfreeze="gradual", unfreeze_groups=4)
    clf.fit(_tiny())
    # epoch 1 trains the head only: the backbone's weights are untouched
    after = clf.model_.backbone.state_dict()
    assert torch.equal(after["stem.weight"], init["stem.weight"])
    assert torch.equal(after["head_conv.weight"], init["head_conv.weight"])
    clf2 = _finetune(epochs=2, unfreeze="gradual", unfreeze_groups=4, schedule="none")
    clf2.fit(_tiny())
    after2 = clf2.model_.backbone.state_dict()
    assert not torch.equal(after2["head_conv.weight"], init["head_conv.weight"])
    assert torch.equal(after2["stem.weight"], init["stem.weight"])


def test_backbone_learns_slower_than_the_head():
    clf = _finetune(backbone_lr_mult=0.1, lr=0.01, schedule="none")
    clf.fit(_tiny())
    # checkpoint-free check of the param groups through a fresh optimizer of the same config
    groups = [{"params": [torch.zeros(1)], "lr": 0.01}, {"params": [torch.zeros(1)], "lr": 0.001}]
    opt = clf._optimizer(groups)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.001]
    assert clf.history_[0]["lr"] == 0.01                   # the head's group is reported


def test_evaluation_metrics_by_hand():
    logits = torch.tensor([[3.0, 1, 0], [0, 3, 1], [0, 1, 3], [3, 2, 1]])
    labels = torch.tensor([0, 1, 1, 1])
    r = evaluation_from_logits(logits, labels, ["a", "b", "c"])
    assert r.top1 == 0.5 and r.top5 == 1.0
    assert r.confusion.tolist() == [[1, 0, 0], [1, 1, 1], [0, 0, 0]]
    assert r.per_class == [1.0, pytest.approx(1 / 3), 0.0]


def test_bad_settings_and_unfitted_use_are_reported():
    with pytest.raises(ValueError, match="choose one of features, finetune"):
        TransferConfig(mode="finetuning")
    with pytest.raises(ValueError, match="choose one of sgd, adamw"):
        TransferConfig(optimizer="adam")
    with pytest.raises(ValueError, match="label_smoothing"):
        TransferConfig(label_smoothing=1.5)
    with pytest.raises(DlcourseError, match="not trained"):
        ImageClassifier().evaluate(_tiny())


def test_evaluating_on_other_classes_is_refused():
    clf = _finetune().fit(_tiny())
    other = ArrayImageDataset(np.zeros((2, 8, 8), np.uint8), [0, 1], ["x", "y"])
    with pytest.raises(DlcourseError, match="differ from the model"):
        clf.evaluate(other)


def test_precise_bn_sets_running_stats_to_the_data_average():
    ds = _tiny(16)
    clf = _finetune(precise_bn=16).fit(ds)
    net = clf.model_.eval()
    pre = clf._preprocess(train=False)
    with torch.no_grad():
        stem = net.backbone.stem(pre(ds.images))           # (16, 32, 8, 8) before the first BN
    expected = stem.mean(dim=(0, 2, 3))
    assert torch.allclose(net.backbone.stem_bn.running_mean, expected, atol=1e-4)
    # the training weights are the same with and without recalibration
    plain = _finetune(precise_bn=0).fit(ds)
    assert torch.equal(plain.model_.head.weight, clf.model_.head.weight)


def test_resume_equals_an_uninterrupted_run(fashion_small, tmp_path, no_feature_cache_writes):
    train, test = fashion_small
    kw = dict(arch="efficientnet_lite0", mode="features", image_size=32, optimizer="adamw",
              lr=3e-3, schedule="none", batch_size=50, device="cpu")
    full = ImageClassifier(epochs=4, **kw).fit(train, out_dir=tmp_path / "full")
    ImageClassifier(epochs=2, **kw).fit(train, out_dir=tmp_path / "part")
    resumed = ImageClassifier(epochs=4, **kw).fit(train, out_dir=tmp_path / "part", resume=True)
    assert torch.allclose(resumed.model_.head.weight, full.model_.head.weight, atol=1e-6)
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4]


@pytest.mark.slow
def test_finetuning_the_pretrained_network_beats_chance(fashion_small):
    train, test = fashion_small
    clf = ImageClassifier(arch="efficientnet_lite0", weights="imagenet", mode="finetune",
                          image_size=32, epochs=3, optimizer="adamw", lr=3e-3,
                          backbone_lr_mult=0.1, batch_size=32, device="cpu").fit(train, test)
    # 21 steps from a random head: measured 0.46 (chance 0.10)
    assert clf.evaluate(test).top1 > 0.35
    assert clf.history_[-1]["train_loss"] < clf.history_[0]["train_loss"]


def test_head_only_training_checkpoint_is_not_taken_for_a_model(tmp_path, fashion_small,
                                                                 no_feature_cache_writes):
    train, _ = fashion_small
    clf = ImageClassifier(arch="efficientnet_lite0", mode="features", image_size=32, epochs=1,
                          device="cpu").fit(train.subset(range(40)), out_dir=tmp_path)
    clf.save(tmp_path)
    assert ImageClassifier.load(tmp_path).classes_ == train.classes
    with pytest.raises(DlcourseError, match="head only"):
        ImageClassifier.load(tmp_path / "last.pt")


def test_step_and_cosine_schedules_lower_the_learning_rate(fashion_small,
                                                          no_feature_cache_writes):
    train = fashion_small[0].subset(range(40))
    kw = dict(arch="efficientnet_lite0", mode="features", image_size=32, epochs=3, device="cpu")
    step = ImageClassifier(schedule="step", step_size=1, gamma=0.5, label_smoothing=0.1,
                           **kw).fit(train)
    assert [h["lr"] for h in step.history_] == pytest.approx([0.001, 0.0005, 0.00025])
    cosine = ImageClassifier(schedule="cosine", **kw).fit(train)
    lrs = [h["lr"] for h in cosine.history_]
    assert lrs[0] == 0.001 and lrs[0] > lrs[1] > lrs[2] > 0
