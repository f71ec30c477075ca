"""What a new-user probe of the vision API found: ``score`` for scikit-learn, one colour image
channels-first read as three grey images, a picture predicted differently by path and by
pixels (stretched, not cropped), and ``stratified_subset`` with n < 1."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from dlcourse.errors import InputError
from dlcourse.vision.data import ArrayImageDataset, stratified_subset
from dlcourse.vision.estimator import ImageClassifier
from dlcourse.vision.transforms import BatchPreprocess

# ResNet-18 from random weights at 32 px: its outputs follow the pixels (EfficientNet-Lite0's
# random-weight features are ~1e-12 at 16 px, the same for every image), no download
SENSITIVE = dict(arch="resnet18", weights="none", image_size=32, epochs=1, batch_size=32,
                 device="cpu")


@pytest.fixture(scope="module")
def fashion(fashion_test):
    """(train, test): 20 real Fashion-MNIST images each, disjoint."""
    train = stratified_subset(fashion_test.subset(np.arange(5000)), 20, seed=0)
    test = stratified_subset(fashion_test.subset(np.arange(5000, 10000)), 20, seed=1)
    return train, test


@pytest.fixture(scope="module")
def clf(fashion):
    return ImageClassifier(**SENSITIVE).fit(fashion[0])


def top1(predictions) -> list[str]:
    return [p[0][0] for p in predictions]


def same_predictions(a, b) -> bool:
    """The same classes with probabilities equal up to float rounding (another batch size may
    round differently)."""
    a, b = [dict(p) for p in a], [dict(p) for p in b]
    return all(pa.keys() == pb.keys() and [pa[c] for c in pb] == pytest.approx(list(pb.values()),
                                                                               abs=1e-5)
               for pa, pb in zip(a, b, strict=True))


# ---- score ---------------------------------------------------------------------------------------
def test_score_is_accuracy_on_the_inputs_predict_takes(clf, fashion, tmp_path):
    from PIL import Image

    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    _, test = fashion
    names = [test.classes[i] for i in test.labels]
    predicted = top1(clf.predict_top(test.images, k=1))
    expected = sklearn_metrics.accuracy_score(names, predicted)
    assert clf.score(test.images, test.labels) == pytest.approx(expected)
    # names and indices both map to the model's classes: its own answers score 1, others 0
    assert clf.score(test.images, predicted) == 1.0
    others = [(test.classes.index(name) + 1) % 10 for name in predicted]
    assert clf.score(test.images, others) == 0.0
    # numpy pixels with numpy indices, class names as labels, the data set (its own labels)
    assert clf.score(test.images.numpy()[:, 0], test.labels.numpy()) == pytest.approx(expected)
    assert clf.score(test.images, names) == pytest.approx(expected)
    assert clf.score(test) == pytest.approx(clf.evaluate(test).top1)
    # image files, as predict takes them
    paths = []
    for i, image in enumerate(test.images[:10, 0].numpy()):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    by_path = sklearn_metrics.accuracy_score(names[:10], top1(clf.predict_top(paths, k=1)))
    assert clf.score(paths, names[:10]) == pytest.approx(by_path)
    assert clf.score([str(p) for p in paths], test.labels[:10]) == pytest.approx(by_path)


def test_scikit_learn_sees_a_classifier_scored_by_accuracy(clf, fashion):
    pytest.importorskip("sklearn")
    from sklearn.base import clone, is_classifier
    from sklearn.metrics import check_scoring

    _, test = fashion
    assert is_classifier(clf)
    scorer = check_scoring(clf)  # what cross_val_score and GridSearchCV call
    assert scorer(clf, test.images.numpy(), test.labels.numpy()) == clf.score(test.images,
                                                                              test.labels)
    assert clone(clf).get_params() == clf.get_params()


@pytest.mark.parametrize("labels, match", [
    (None, r"score needs the true labels, one per image: score\(images, labels\)"),
    (["T-shirt/top"] * 3, "4 images but 3 labels; give one label per image"),
    (["T-shirt/top", "Trouser", "cat", "Bag"],
     r"label 'cat' is not a class of the model \['T-shirt/top', .*\]; give class names it "
     "was trained on or their indices"),
    ([0, 1, 10, 2], "labels must lie in 0..9 for 10 classes, got 10"),
    (np.zeros((4, 1), np.int64), r"labels must be a 1-D array .* labels\.ravel\(\)"),
])
def test_score_names_labels_it_cannot_use(clf, fashion, labels, match):
    with pytest.raises(InputError, match=match):
        clf.score(fashion[1].images[:4], labels)


@pytest.mark.parametrize("images", [[], np.zeros((0, 28, 28), np.uint8)])
def test_score_refuses_no_images(clf, images):
    with pytest.raises(InputError, match="score needs at least one labelled image, got none"):
        clf.score(images, [])


def test_score_of_a_data_set_takes_its_own_labels(clf, fashion):
    with pytest.raises(InputError, match=r"score\(ds\) takes the labels an ArrayImageDataset "
                                         "holds; leave labels out"):
        clf.score(fashion[1], fashion[1].labels)


# ---- one colour image channels-first -------------------------------------------------------------
def test_one_channels_first_colour_image_is_refused_with_the_fix(clf, tmp_path, png_writer):
    io = pytest.importorskip("torchvision.io")
    path = png_writer(tmp_path / "wide.png", np.random.default_rng(0), size=40)
    image = io.read_image(str(path))                            # (3, 40, 40) uint8
    with pytest.raises(InputError, match=(
            r"images of shape \(3, 40, 40\) may be one colour image channels-first \(as "
            r"torchvision\.io\.read_image gives\) or 3 grey images; give a batch, "
            r"\(B, C, H, W\), \(B, H, W, C\) or grey \(B, H, W\): one colour image as "
            r"images\[None\] \(1, 3, 40, 40\) or images\.permute\(1, 2, 0\)\[None\] .*three "
            r"grey images as images\[:, None\] \(3, 1, 40, 40\)")):
        clf.predict_top(image)
    with pytest.raises(InputError, match=r"images\.transpose\(1, 2, 0\)\[None\]"):
        clf.predict_top(image.numpy())                       # numpy spells it transpose
    with pytest.raises(InputError, match=r"shape \(3, 40, 40\)"):
        clf.score(image, [0, 1, 2])
    # both fixes the message names give the prediction of the file
    expected = clf.predict_top(path, k=3)
    assert clf.predict_top(image[None], k=3) == expected
    assert clf.predict_top(image.permute(1, 2, 0)[None], k=3) == expected


def test_every_documented_layout_still_works(clf, fashion):
    grey = fashion[1].images[:3, 0]                             # (3, 28, 28): three grey images
    expected = clf.predict_top(grey[:, None], k=2)           # (B, C, H, W), C = 1
    assert len(expected) == 3
    assert clf.predict_top(list(grey.numpy()), k=2) == expected      # a list is a batch
    assert clf.predict_top(grey[:, :, :, None], k=2) == expected     # (B, H, W, C)
    assert same_predictions(clf.predict_top(grey[:2], k=2), expected[:2])  # (B, H, W)
    colour = grey[:, None].expand(-1, 3, -1, -1)                # (B, 3, H, W), grey as RGB
    assert same_predictions(clf.predict_top(colour.numpy(), k=2), expected)
    # labels say how many images there are: a data set of (3, H, W) is three grey images
    ds = ArrayImageDataset(grey.numpy(), [0, 1, 2], fashion[1].classes)
    assert ds.images.shape == (3, 1, 28, 28)


# ---- the same picture by path and by pixels ------------------------------------------------------
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_a_non_square_picture_gets_one_prediction_by_path_and_by_pixels(clf, tmp_path, mode):
    from PIL import Image

    # a bright band in the middle of a dark, wide picture: cropping keeps the band, stretching
    # squeezes it to a third of the square
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 40, (30, 90, 3), dtype=np.uint8)
    pixels[:, 30:60] += 180
    path = tmp_path / "wide.png"
    Image.fromarray(pixels).convert(mode).save(path)
    by_path = clf.predict_top(path, k=10)
    by_pixels = clf.predict_top(np.array(Image.open(path))[None], k=10)
    assert same_predictions(by_pixels, by_path)
    # what pixels got before (the whole picture squeezed into the square) differs
    squeezed = np.array(Image.open(path).resize((32, 32), Image.Resampling.BILINEAR))[None]
    before = dict(clf.predict_top(squeezed, k=10)[0])
    assert max(abs(before[c] - p) for c, p in by_path[0]) > 1e-3


def test_batches_of_non_square_images_are_centre_cropped_not_stretched():
    torch.manual_seed(0)
    wide = torch.randint(0, 256, (2, 3, 20, 50), dtype=torch.uint8)
    pre = BatchPreprocess(16).eval()
    assert torch.equal(pre(wide), pre(wide[..., 15:35]))        # the centre 20 x 20
    tall = wide.transpose(2, 3)                                 # (2, 3, 50, 20)
    assert torch.equal(pre(tall), pre(tall[..., 15:35, :]))


def test_evaluate_and_predict_top_agree_on_non_square_images(clf, fashion):
    # a data set of wide images (two Fashion-MNIST pictures side by side) is cropped in
    # batches as predict_top crops each image: the two differ only by resampling
    test = fashion[1].subset(np.arange(8))
    wide = torch.cat([test.images, test.images.roll(1, dims=0)], dim=3)   # (8, 1, 28, 56)
    ds = ArrayImageDataset(wide, test.labels, test.classes)
    by_batch = clf.logits(ds).softmax(dim=1)
    by_image = [dict(p) for p in clf.predict_top(wide, k=10)]
    assert np.abs([[row[c] for c in test.classes] for row in by_image]
                  - by_batch.numpy()).max() < 0.02


# ---- stratified_subset ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [-3, 0, 2.5, True, "10", None])
def test_stratified_subset_refuses_n_below_one_or_not_a_count(fashion_test, n):
    with pytest.raises(InputError, match=r"n must be a whole number >= 1, the number of images "
                                         r"to keep \(e\.g\. 1000; len\(ds\) or more keeps them "
                                         rf"all\), got {re.escape(repr(n))}"):
        stratified_subset(fashion_test, n)


def test_stratified_subset_keeps_at_most_n(fashion_test):
    one = stratified_subset(fashion_test, np.int64(1))
    assert len(one) == 1
    ten = stratified_subset(fashion_test, 10.0)                 # a whole float is a count
    assert torch.equal(ten.images, stratified_subset(fashion_test, 10).images)
    assert sorted(ten.labels.tolist()) == list(range(10))      # one of each class
    small = fashion_test.subset(np.arange(30))
    assert stratified_subset(small, 30) is small                # n = len: all of it
    assert stratified_subset(small, 10_000) is small            # a budget above the size


def test_cross_val_score_refits_on_images_and_labels(fashion):
    # fit took only an ArrayImageDataset, so scikit-learn's fit(X, y) on each fold failed
    pytest.importorskip("sklearn")
    from sklearn.model_selection import cross_val_score

    train, test = fashion
    images = torch.cat([train.images, test.images]).numpy()                 # (40, 1, 28, 28)
    names = np.array([train.classes[i] for i in torch.cat([train.labels, test.labels])])
    scores = cross_val_score(ImageClassifier(**SENSITIVE), images, names, cv=2)
    assert scores.shape == (2,) and ((0 <= scores) & (scores <= 1)).all()
    by_names = ImageClassifier(**SENSITIVE).fit(images[:20], names[:20])
    assert by_names.classes_.tolist() == sorted(set(names[:20]))
    assert by_names.score(images[20:], names[20:]) == pytest.approx(
        np.mean(np.array(top1(by_names.predict_top(images[20:], k=1))) == names[20:]))
    by_index = ImageClassifier(**SENSITIVE).fit(train.images, train.labels)
    assert by_index.classes_.tolist() == sorted(set(train.labels.tolist()))
    with pytest.raises(InputError, match=r"train must be an ArrayImageDataset .* got ndarray; "
                       r"or give images with their labels, fit\(images, labels\)"):
        ImageClassifier(**SENSITIVE).fit(images)


def test_predict_answers_the_labels_fit_was_given(fashion, tmp_path):
    # predict gave top-k lists of pairs, and integer labels came back as '0', '1', ...: the
    # "accuracy" scorer (which calls predict) failed, or compared 3 with '3'
    pytest.importorskip("sklearn")
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import cross_val_score

    train, test = fashion
    images = torch.cat([train.images, test.images]).numpy()                 # (40, 1, 28, 28)
    y = torch.cat([train.labels, test.labels]).numpy()                      # int64 0..9
    names = np.array([train.classes[i] for i in y])
    by_index = ImageClassifier(**SENSITIVE).fit(images[:20], y[:20])
    answers = by_index.predict(images[20:])
    assert all(type(a) is int for a in answers) and set(answers) <= set(range(10))
    assert by_index.score(images[20:], y[20:]) == pytest.approx(accuracy_score(y[20:], answers))
    by_index.save(tmp_path / "m")
    loaded = ImageClassifier.load(tmp_path / "m")
    assert np.array_equal(loaded.classes_, by_index.classes_)
    assert loaded.predict(images[20:]) == answers
    by_names = ImageClassifier(**SENSITIVE).fit(images[:20], names[:20])
    assert all(type(a) is str for a in by_names.predict(images[20:]))
    for labels in (y, names):
        scores = cross_val_score(ImageClassifier(**SENSITIVE), images, labels, cv=2,
                                 scoring="accuracy", error_score="raise")
        assert scores.shape == (2,) and ((0 <= scores) & (scores <= 1)).all()


def test_no_images_give_no_predictions(clf):
    # a bare "need at least one array to stack"; predict([]) and TextClassifier give []
    assert clf.predict_top(np.zeros((0, 16, 16, 3), np.uint8)) == []
    assert clf.predict(np.zeros((0, 16, 16, 3), np.uint8)) == []
    assert clf.predict([]) == [] and clf.predict_top([]) == []


def test_predict_proba_for_scikit_learns_probability_scorers(clf, fashion, tmp_path):
    # there was none: neg_log_loss and roc_auc scorers failed on ImageClassifier
    pytest.importorskip("sklearn")
    from PIL import Image
    from sklearn.metrics import get_scorer

    _, test = fashion
    probs = clf.predict_proba(test.images)                         # (20, 10)
    assert probs.shape == (len(test), len(clf.classes_)) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert [clf.classes_[i] for i in probs.argmax(axis=1)] == top1(
        clf.predict_top(test.images, k=1))
    names = np.array([test.classes[i] for i in test.labels])
    loss = get_scorer("neg_log_loss")(clf, test.images.numpy(), names)
    assert np.isfinite(loss) and loss < 0
    paths = []
    for i, image in enumerate(test.images[:3]):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image[0].numpy()).save(paths[-1])
    np.testing.assert_allclose(clf.predict_proba(paths), probs[:3], atol=1e-5)  # same pixels
    assert clf.predict_proba([]).shape == (0, len(clf.classes_))


@pytest.mark.parametrize("labels, classes", [
    (np.where(np.arange(40) % 2, 7, 3), [3, 7]),           # 8 classes 0..7 were built
    (np.where(np.arange(40) % 2, 1, -1), [-1, 1]),          # refused: "must lie in 0..1"
    ((np.arange(40) % 2).astype(float), [0.0, 1.0]),        # refused: "integer class indices"
    (np.where(np.arange(40) % 2, "b", "a").astype(object), ["a", "b"]),
])
def test_the_classes_are_the_labels_fit_was_given(fashion, labels, classes):
    # as TextClassifier's and scikit-learn's: the sorted distinct labels, kept as given
    pytest.importorskip("sklearn")
    from sklearn.model_selection import cross_val_score

    images = np.concatenate([fashion[0].images.numpy(), fashion[1].images.numpy()])
    clf = ImageClassifier(**SENSITIVE).fit(images, labels)
    assert isinstance(clf.classes_, np.ndarray) and clf.classes_.tolist() == classes
    assert clf.predict_proba(images[:3]).shape == (3, 2)
    answers = clf.predict(images)
    assert set(answers) <= set(classes) and all(type(a) is type(classes[0]) for a in answers)
    assert clf.score(images, labels) == pytest.approx(np.mean(np.array(answers) == labels))
    # the binary scorers find the positive column by classes_ == label: NaN with a list
    scores = cross_val_score(ImageClassifier(**SENSITIVE), images, labels, cv=2,
                             scoring="roc_auc", error_score="raise")
    assert np.isfinite(scores).all()


def test_labels_that_make_no_classes_are_refused(fashion):
    images = fashion[0].images.numpy()
    with pytest.raises(InputError, match=r"label 3 is missing \(nan\); drop or fill the rows "
                                         r"without a label"):
        ImageClassifier(**SENSITIVE).fit(images, [0.0, 1.0, 0.0, np.nan] + [1.0] * 16)
    with pytest.raises(InputError, match=r"labels mix numbers and strings \(label 0 is 0, "
                                         r"label 1 is 'a'\); give one kind"):
        ImageClassifier(**SENSITIVE).fit(images, np.array([0, "a"] * 10, dtype=object))
    with pytest.raises(InputError, match=r"labels must be 1-D, one per image, got shape"):
        ImageClassifier(**SENSITIVE).fit(images, np.zeros((20, 1), np.int64))
