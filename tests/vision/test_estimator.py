"""ImageClassifier: feature extraction on real images, fine-tuning, caching, save/load, metrics,
the estimator contract (config, get/set_params, NotFittedError, one model file)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.errors import (
    ConfigError,
    DlcourseError,
    IncompatibleModelError,
    InputError,
    NotFittedError,
)
from dlcourse.vision.data import ArrayImageDataset, stratified_subset
from dlcourse.vision.estimator import ImageClassifier
from dlcourse.vision.metrics import evaluation_from_logits
from dlcourse.vision.pipeline import Pipeline
from dlcourse.vision.training import make_optimizer


@pytest.fixture
def finetune(tiny):
    """A fine-tuning ImageClassifier of the tiny settings, with overrides."""
    _, settings = tiny

    def make(**kw):
        return ImageClassifier(**{**settings, "mode": "finetune", **kw})

    return make


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
    assert clf.fit(train, test) is clf
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


def test_a_damaged_feature_cache_is_computed_again(tiny, no_feature_cache_writes, caplog):
    """The cache is derived data: a file cut short costs a warning, not the run (it stopped
    training with "cannot read checkpoint ... damaged")."""
    from dataclasses import replace

    from dlcourse.engine.checkpoint import load_checkpoint
    from dlcourse.vision.features import extract_features
    from dlcourse.vision.models import build_backbone

    backbone, info = build_backbone("efficientnet_lite0", "none")
    info = replace(info, weights="IMAGENET1K_V1")       # a named weight: the cache is used
    pipe = Pipeline.build(info, 16, torch.device("cpu"))
    ds = tiny[0](8)
    feats = extract_features(backbone, info, ds, pipe)
    (path,) = no_feature_cache_writes.glob("*.pt")
    path.write_bytes(path.read_bytes()[:100])
    again = extract_features(backbone, info, ds, pipe)
    assert torch.equal(again, feats)
    assert f"ignoring the feature cache: cannot read checkpoint {path}" in caplog.text
    assert torch.equal(load_checkpoint(path)["features"], feats)   # written again


def test_same_seed_same_weights_and_another_seed_differs(tiny, finetune):
    ds = tiny[0](16)
    a, b, c = finetune().fit(ds), finetune().fit(ds), finetune(seed=1).fit(ds)
    sa, sb, sc = (m.model_.state_dict() for m in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["head.weight"], sc["head.weight"])


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v3_small"])
def test_a_last_batch_of_one_image_trains(tiny, finetune, arch):
    # 9 images in batches of 8 at 32 px: the last training batch and the last batch of the
    # batch-norm recalibration would hold one image on a 1x1 feature map, which BatchNorm
    # refuses in training mode ("Expected more than 1 value per channel"); it is left out
    clf = finetune(arch=arch, image_size=32, batch_size=8).fit(tiny[0](9, size=32))
    assert len(clf.history_) == 1 and np.isfinite(clf.history_[0]["train_loss"])
    assert len(clf.predict_top(np.zeros((4, 32, 32), np.uint8))) == 4  # four grey images


@pytest.mark.slow
def test_finetune_loss_falls_on_a_learnable_task(tiny, finetune):
    clf = finetune(epochs=4, optimizer="adamw", lr=3e-3, backbone_lr_mult=1.0,
                   augment=False).fit(tiny[0](64))
    losses = [h["train_loss"] for h in clf.history_]
    assert losses[-1] < losses[0]


def test_save_load_gives_the_same_predictions(tmp_path, tiny, finetune, png_writer):
    from dlcourse.engine.persist import read_manifest

    ds = tiny[0]()
    clf = finetune().fit(ds)
    clf.save(tmp_path / "model")
    loaded = ImageClassifier.load(tmp_path / "model", device="cpu")
    assert loaded.classes_.tolist() == ["dark", "bright"] and loaded.image_size_ == 16
    assert loaded.get_params() == clf.get_params()
    assert torch.equal(loaded.logits(ds), clf.logits(ds))
    assert loaded.history_ == clf.history_ and loaded.info_ == clf.info_
    manifest = read_manifest(tmp_path / "model" / "model.safetensors")
    assert manifest["lesson"] == "vision" and manifest["config"]["arch"] == "efficientnet_lite0"
    assert manifest["state"]["backbone"]["feature_dim"] == 1280
    rng = np.random.default_rng(0)
    files = [png_writer(tmp_path / f"{i}.png", rng, size=40) for i in range(3)]
    preds = loaded.predict_top(files, k=2)
    assert len(preds) == 3 and all(len(p) == 2 for p in preds)
    assert all(p[0][1] >= p[1][1] and 0.99 < p[0][1] + p[1][1] <= 1.0 + 1e-6 for p in preds)
    assert preds == clf.predict_top(files, k=2)
    # one path alone is one image (a string was walked character by character); none: []
    alone = loaded.predict_top(str(files[0]), k=2)  # a batch of one: the same up to rounding
    assert len(alone) == 1 and [c for c, _ in alone[0]] == [c for c, _ in preds[0]]
    assert [p for _, p in alone[0]] == pytest.approx([p for _, p in preds[0]], abs=1e-5)
    assert loaded.predict([]) == [] and loaded.predict_top([]) == []
    # predict answers each image's likeliest class, as predict_top's first
    assert loaded.predict(files) == [p[0][0] for p in preds]
    # a batch as numpy, channels last, gives what the (B, C, H, W) tensor gives
    batch = ds.images[:4]  # (4, 1, 16, 16) uint8 tensor
    expected = loaded.predict_top(batch, k=2)
    assert loaded.predict_top(batch.numpy().transpose(0, 2, 3, 1), k=2) == expected
    assert loaded.predict_top(batch[:, 0], k=2) == expected  # grey (B, H, W)


def test_the_contract_params_unfitted_and_validation(tiny):
    clf = ImageClassifier(arch="efficientnet_lite0", lr=0.02)
    assert clf.lr == 0.02 and clf.get_params()["arch"] == "efficientnet_lite0"
    assert clf.set_params(epochs=3) is clf and clf.config.epochs == 3
    with pytest.raises(NotFittedError, match="not fitted"):
        clf.evaluate(tiny[0]())
    with pytest.raises(NotFittedError):
        clf.predict(["x.png"])
    with pytest.raises(NotFittedError):
        clf.save("nowhere")
    for bad, match in [(dict(mode="finetuning"), "choose one of features, finetune"),
                       (dict(optimizer="adam"), "choose one of sgd, adamw"),
                       (dict(label_smoothing=1.5), "label_smoothing must be < 1"),
                       (dict(lr=0), "lr must be > 0"), (dict(epochs=0), "epochs must be >= 1"),
                       (dict(image_size=4), "image_size must be >= 8"),
                       (dict(arch="convnext_tiny", image_size=16),
                        "convnext_tiny needs image_size >= 32, got 16"),  # a torch error late
                       (dict(unfreeze="gradual"), "needs mode finetune"),
                       (dict(batch_size="8"), "batch_size must be an integer")]:
        with pytest.raises(ConfigError, match=match):
            ImageClassifier(**bad).fit(tiny[0]())
    with pytest.raises(ConfigError, match="unknown parameter 'lrate'"):
        ImageClassifier(lrate=0.1)
    _, settings = tiny
    empty = tiny[0]().subset(np.arange(0))
    with pytest.raises(DlcourseError, match="the train set holds no images"):
        ImageClassifier(**settings).fit(empty)
    with pytest.raises(DlcourseError, match="resume=True needs the out_dir"):
        ImageClassifier(**settings).fit(tiny[0](), resume=True)


def test_gradual_unfreezing_thaws_from_the_head_side(tiny, finetune):
    from dlcourse.engine import seed_everything
    from dlcourse.vision.models import build_model

    seed_everything(0)                                     # what fit() does before building
    init = build_model("efficientnet_lite0", 2, "none")[0].backbone.state_dict()
    clf = finetune(epochs=1, unfreeze="gradual", unfreeze_groups=4)
    clf.fit(tiny[0]())
    # epoch 1 trains the head only: the backbone's weights are untouched
    after = clf.model_.backbone.state_dict()
    assert torch.equal(after["stem.weight"], init["stem.weight"])
    assert torch.equal(after["head_conv.weight"], init["head_conv.weight"])
    clf2 = finetune(epochs=2, unfreeze="gradual", unfreeze_groups=4, schedule="none")
    clf2.fit(tiny[0]())
    after2 = clf2.model_.backbone.state_dict()
    assert not torch.equal(after2["head_conv.weight"], init["head_conv.weight"])
    assert torch.equal(after2["stem.weight"], init["stem.weight"])


def test_backbone_learns_slower_than_the_head(tiny, finetune):
    clf = finetune(backbone_lr_mult=0.1, lr=0.01, schedule="none")
    clf.fit(tiny[0]())
    groups = [{"params": [torch.zeros(1)], "lr": 0.01}, {"params": [torch.zeros(1)], "lr": 0.001}]
    opt = make_optimizer(clf.config, groups)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.001]
    assert clf.history_[0]["lr"] == 0.01                   # the head's group is reported


def test_evaluation_metrics_by_hand():
    logits = torch.tensor([[3.0, 1, 0], [0, 3, 1], [0, 1, 3], [3, 2, 1]])
    labels = torch.tensor([0, 1, 1, 1])
    r = evaluation_from_logits(logits, labels, ["a", "b", "c"])
    assert r.top1 == 0.5 and r.top5 == 1.0
    assert r.confusion.tolist() == [[1, 0, 0], [1, 1, 1], [0, 0, 0]]
    # class c has no images: its accuracy is undefined, not 0
    assert r.per_class[:2] == [1.0, pytest.approx(1 / 3)] and np.isnan(r.per_class[2])


def test_evaluation_reads_as_a_dict_too():
    """``r["accuracy"]`` as in the other lessons' evaluate dicts, of plain values (dict(r)
    held numpy arrays and NaN: json.dumps failed); the attributes stay numpy."""
    import json

    r = evaluation_from_logits(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]),
                               ["a", "b"])
    assert r["accuracy"] == r["top1"] == r.top1 == 0.5 and r["classes"] == ["a", "b"]
    assert list(r)[:5] == ["n", "accuracy", "top1", "top5", "loss"] and len(r) == 10
    # a dict itself: json.dumps(r) as for the other lessons' evaluate (it needed dict(r))
    assert isinstance(r, dict) and json.loads(json.dumps(r, allow_nan=False)) == r.to_dict()
    assert r["confusion_matrix"] == [[1, 1], [0, 0]] and isinstance(r.confusion, np.ndarray)
    with pytest.raises(KeyError):
        r["f1"]


def test_evaluation_has_a_plain_form_that_json_writes(vision_model, tiny):
    # dict(r) holds numpy arrays and NaN: json.dumps failed, unlike classify's evaluate dict
    import json

    r = ImageClassifier.load(vision_model).evaluate(tiny[0](6))
    plain = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert plain["accuracy"] == plain["top1"] == r.top1 and plain["n"] == 6
    assert plain["confusion_matrix"] == r.confusion.tolist() and plain["classes"] == r.classes
    assert plain["predictions"] == r.predictions.tolist() and plain["labels"] == [0, 1] * 3
    assert [c["support"] for c in plain["per_class"]] == [3, 3]
    # a class without images has no accuracy: null, as in `vision evaluate --out`'s file
    r = evaluation_from_logits(torch.tensor([[2.0, 0.0]]), torch.tensor([0]), ["a", "b"])
    assert json.loads(json.dumps(r.to_dict(), allow_nan=False))["per_class"] == [
        {"class": "a", "accuracy": 1.0, "support": 1},
        {"class": "b", "accuracy": None, "support": 0}]


def test_predict_and_evaluate_name_the_argument_they_take(tiny, tmp_path):
    make, settings = tiny
    clf = ImageClassifier(**settings).fit(make(8))
    # a folder was "cannot read image ...: [Errno 21] Is a directory; replace or delete the file"
    with pytest.raises(DlcourseError, match=rf"^image {tmp_path} is a folder, not an image "
                                            r"file; pass the image files in it$"):
        clf.predict(tmp_path)
    for bad, kind in ((3, "int"), (None, "NoneType"), (2.5, "float")):
        with pytest.raises(InputError, match=r"^images must be image file paths \(a path or a "
                                             rf"list of them\) or a uint8 batch .*got {kind}$"):
            clf.predict(bad)  # "uint8 pixels 0-255, got int64" for 3 before
    with pytest.raises(DlcourseError, match="evaluate takes an ArrayImageDataset .*got list"):
        clf.evaluate(["a.png"])  # an AttributeError before
    assert clf.predict([]) == []


def test_evaluating_on_other_classes_is_refused(tiny, finetune):
    clf = finetune().fit(tiny[0]())
    other = ArrayImageDataset(np.zeros((2, 8, 8), np.uint8), [0, 1], ["x", "dark"])
    with pytest.raises(DlcourseError, match=r"data set classes \['x'\] are not classes of the "
                                            r"model \(dark, bright\); evaluate on images of"):
        clf.evaluate(other)


def test_some_of_the_models_classes_in_any_order_are_scored_as_its_own(tiny, finetune):
    # a test set of some classes (or sorted otherwise) was refused: "differ from the model's"
    data = tiny[0]()
    clf = finetune().fit(data)
    whole = clf.evaluate(data)
    swapped = ArrayImageDataset(data.images, 1 - data.labels.numpy(), ["bright", "dark"])
    again = clf.evaluate(swapped)
    assert again.classes == ["dark", "bright"] and again.top1 == whole.top1
    np.testing.assert_array_equal(again.confusion, whole.confusion)
    bright = np.flatnonzero(data.labels.numpy() == 1)
    only = clf.evaluate(ArrayImageDataset(data.images[bright], np.zeros(len(bright), int),
                                          ["bright"]))
    assert np.isnan(only.per_class[0]) and only.per_class[1] == whole.per_class[1]


def test_precise_bn_sets_running_stats_to_the_data_average(tiny, finetune):
    ds = tiny[0](16)
    clf = finetune(precise_bn=16).fit(ds)
    net = clf.model_.eval()
    pipe = Pipeline.build(clf.info_, clf.image_size_, torch.device("cpu"))
    with torch.no_grad():
        stem = net.backbone.stem(pipe.prepare(ds.images))  # (16, 32, 8, 8) before the first BN
    expected = stem.mean(dim=(0, 2, 3))
    assert torch.allclose(net.backbone.stem_bn.running_mean, expected, atol=1e-4)
    # the training weights are the same with and without recalibration
    plain = finetune(precise_bn=0).fit(ds)
    assert torch.equal(plain.model_.head.weight, clf.model_.head.weight)


def test_loading_another_model_or_mismatched_weights_is_one_clear_error(tmp_path, tiny,
                                                                         finetune):
    from dlcourse.engine.persist import read_state, write_state

    clf = finetune().fit(tiny[0]())
    path = clf.save(tmp_path / "ok")
    manifest, arrays = read_state(path, "torch")
    # another lesson's model file
    write_state(tmp_path / "som" / "model.safetensors", {**manifest, "lesson": "som",
                                                          "estimator": "SOM"}, arrays)
    with pytest.raises(IncompatibleModelError, match="'som' model"):
        ImageClassifier.load(tmp_path / "som")
    # a head of the wrong shape
    arrays["model.head.weight"] = torch.zeros(3, 1280)
    write_state(tmp_path / "bad" / "model.safetensors", manifest, arrays)
    with pytest.raises(IncompatibleModelError, match="do not fit"):
        ImageClassifier.load(tmp_path / "bad")
    # a truncated file
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "model.safetensors").write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DlcourseError, match="damaged|not a dlcourse model"):
        ImageClassifier.load(tmp_path / "cut")


def test_workers_do_not_change_the_batches(tiny, finetune):
    # two epochs: persistent workers must not shift the augmentation of the second one
    ds = tiny[0](32)
    one = finetune(batch_size=8, epochs=2, num_workers=0).fit(ds)
    two = finetune(batch_size=8, epochs=2, num_workers=2).fit(ds)
    for key, value in one.model_.state_dict().items():
        assert torch.equal(value, two.model_.state_dict()[key]), key


@pytest.mark.slow
def test_finetuning_the_pretrained_network_beats_chance(fashion_small):
    train, test = fashion_small
    clf = ImageClassifier(arch="efficientnet_lite0", weights="imagenet", mode="finetune",
                          image_size=32, epochs=3, optimizer="adamw", lr=3e-3,
                          backbone_lr_mult=0.1, batch_size=32, device="cpu").fit(train, test)
    # 21 steps from a random head: measured 0.46 (chance 0.10)
    assert clf.evaluate(test).top1 > 0.35
    assert clf.history_[-1]["train_loss"] < clf.history_[0]["train_loss"]


def test_step_and_cosine_schedules_lower_the_learning_rate(fashion_small,
                                                          no_feature_cache_writes):
    train = fashion_small[0].subset(range(40))
    kw = dict(arch="efficientnet_lite0", mode="features", image_size=32, epochs=3, device="cpu")
    step = ImageClassifier(schedule="step", step_size=1, gamma=0.5, label_smoothing=0.1,
                           **kw).fit(train)
    assert [h["lr"] for h in step.history_] == pytest.approx([0.01, 0.005, 0.0025])
    cosine = ImageClassifier(schedule="cosine", **kw).fit(train)
    lrs = [h["lr"] for h in cosine.history_]
    assert lrs[0] == 0.01 and lrs[0] > lrs[1] > lrs[2] > 0
