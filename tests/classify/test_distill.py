"""Knowledge distillation (``teacher``): the copies a teacher labels, the targets a student
learns, and that a student really learns from its teacher, resumes exactly and refuses a
teacher that cannot teach it."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.classify import TextClassifier, distill
from dlcourse.classify.distill import (
    LABEL_WEIGHT,
    LABELS_FILE,
    augment_texts,
    check_teacher,
    distillation_set,
    soft_targets,
    teacher_probabilities,
)
from dlcourse.engine.checkpoint import load_checkpoint
from dlcourse.errors import ConfigError, DlcourseError, TrainingInterrupted


@pytest.fixture(scope="module")
def teacher_dir(pang_lee_split, tmp_path_factory):
    """A GRU trained on the real 160 Pang & Lee training sentences (no early stopping: it
    learns them by heart), saved."""
    from tests.classify.conftest import TINY

    train, _ = pang_lee_split
    out = tmp_path_factory.mktemp("teacher")
    TextClassifier(**dict(TINY, epochs=10)).fit(*train).save(out)
    return out


def test_copies_follow_their_originals_and_depend_on_the_seed_only(pang_lee):
    texts = pang_lee[0][:30]
    out = augment_texts(texts, copies=3, seed=5)
    assert out[:30] == texts and len(out) == 30 * 4
    assert out == augment_texts(texts, copies=3, seed=5)
    assert out != augment_texts(texts, copies=3, seed=6)
    for i, text in enumerate(texts):
        words = text.split()
        for copy in out[30 + 3 * i: 30 + 3 * i + 3]:
            kept = copy.split()
            assert kept, "a copy is never empty"
            # a subsequence of its original: words dropped, or one phrase kept
            it = iter(words)
            assert all(w in it for w in kept), (text, copy)
    changed = sum(c != texts[(k // 3)] for k, c in enumerate(out[30:]))
    assert changed > 60  # most copies differ from their original


def test_soft_targets_mix_label_and_teacher_on_originals_only():
    y = np.array([1, 0])
    proba = np.array([[0.2, 0.8], [0.4, 0.6], [0.9, 0.1]], dtype=np.float32)  # 2 originals
    target = soft_targets(y, proba)
    np.testing.assert_allclose(target, [LABEL_WEIGHT + 0.5 * 0.8, 0.5 * 0.6, 0.1], rtol=1e-6)
    three = np.array([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]], dtype=np.float32)
    target = soft_targets(np.array([0]), three)
    np.testing.assert_allclose(target, [[0.55, 0.1, 0.35], [0.3, 0.3, 0.4]], rtol=1e-6)
    np.testing.assert_allclose(target.sum(1), 1.0, rtol=1e-6)


def test_teacher_columns_follow_the_students_class_order(teacher_dir, pang_lee):
    texts = pang_lee[0][:5]
    ours = teacher_probabilities(teacher_dir, texts, ["neg", "pos"], device="cpu")
    flipped = teacher_probabilities(teacher_dir, texts, ["pos", "neg"], device="cpu")
    np.testing.assert_array_equal(ours, flipped[:, ::-1])
    np.testing.assert_allclose(ours.sum(1), 1.0, rtol=1e-5)


def test_a_student_on_wrong_labels_learns_the_teachers_answers(teacher_dir, pang_lee_split,
                                                               tiny):
    """Every training label flipped: alone, the student learns the flipped labels and so
    disagrees with the teacher (which learned the true ones) on the training sentences; with
    the teacher, whose answers outweigh the labels on the copies, it mostly agrees."""
    train, _ = pang_lee_split
    flipped = ["neg" if y == "pos" else "pos" for y in train[1]]
    answers = TextClassifier.load(teacher_dir, device="cpu").predict(train[0])
    assert np.mean([a == b for a, b in zip(answers, train[1])]) > 0.9  # it learned the truth
    alone = TextClassifier(**tiny).fit(train[0], flipped)
    taught = TextClassifier(**dict(tiny, teacher=str(teacher_dir), augment=4)).fit(
        train[0], flipped)
    same_alone = np.mean([a == b for a, b in zip(alone.predict(train[0]), answers)])
    same_taught = np.mean([a == b for a, b in zip(taught.predict(train[0]), answers)])
    assert same_alone < 0.2 and same_taught > 0.8, (same_alone, same_taught)
    assert taught.history_[0]["items"] == 160 * 5  # the originals and 4 copies of each


def test_distilled_run_interrupted_and_resumed_equals_uninterrupted(
        teacher_dir, pang_lee_split, tiny, tmp_path, monkeypatch, same_run):
    train, valid = pang_lee_split
    config = dict(tiny, epochs=2, patience=None, word_dropout=0.2, dropout=0.3,
                  teacher=str(teacher_dir), augment=1)
    full = TextClassifier(**config).fit(*train, valid=valid, out_dir=tmp_path / "full")
    part = tmp_path / "part"
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "13")  # 320 items, 10 batches an epoch
    with pytest.raises(TrainingInterrupted, match="epoch 2 after 3 batches"):
        TextClassifier(**config).fit(*train, valid=valid, out_dir=part)
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    assert (part / LABELS_FILE).exists()  # the teacher's answers, kept for the resume

    def asked_again(*args, **kwargs):
        raise AssertionError("the resumed run asked the teacher again")

    monkeypatch.setattr(distill, "teacher_probabilities", asked_again)
    resumed = TextClassifier(**config).fit(*train, valid=valid, out_dir=part, resume=True)
    same_run.tensors(full.model_.state_dict(), resumed.model_.state_dict(), "model")
    assert same_run.history(resumed.history_) == same_run.history(full.history_)
    saved = load_checkpoint(part / "last.pt")["config"]
    assert saved["teacher"] == str(teacher_dir) and len(saved["teacher_targets"]) == 16
    # other settings are refused before the teacher is asked (it still raises if asked)
    with pytest.raises(DlcourseError, match="trained with augment=1, this run asks for 2"):
        TextClassifier(**dict(config, augment=2)).fit(*train, valid=valid, out_dir=part,
                                                      resume=True)


def test_a_teacher_that_cannot_teach_is_refused_before_training(teacher_dir, pang_lee_split,
                                                                tiny, tmp_path):
    train, _ = pang_lee_split
    with pytest.raises(DlcourseError, match="teacher .*nosuch does not exist"):
        TextClassifier(**dict(tiny, teacher=str(tmp_path / "nosuch"))).fit(*train)
    with pytest.raises(DlcourseError, match="holds no model.safetensors"):
        TextClassifier(**dict(tiny, teacher=str(tmp_path))).fit(*train)
    stars = ["5" if y == "pos" else "1" for y in train[1]]
    with pytest.raises(DlcourseError, match=r"knows the labels \['neg', 'pos'\], the training "
                                            r"texts have \['1', '5'\]"):
        TextClassifier(**dict(tiny, teacher=str(teacher_dir))).fit(train[0], stars)
    with pytest.raises(ConfigError, match="augment makes copies for a teacher"):
        TextClassifier(**dict(tiny, augment=2)).fit(*train)
    assert check_teacher(teacher_dir, ["pos", "neg"]).name == "model.safetensors"


def test_three_classes_distil_through_probability_targets(pang_lee_split, tiny, tmp_path):
    """More than two classes: the student learns (N, 3) probability rows (cross-entropy with
    soft targets), here the length of a review sentence in three bands."""
    train, _ = pang_lee_split

    def band(text):
        n = len(text.split())
        return "short" if n < 15 else "medium" if n < 25 else "long"

    labels = [band(t) for t in train[0]]
    assert len(set(labels)) == 3
    TextClassifier(**dict(tiny, epochs=10)).fit(train[0], labels).save(tmp_path)
    answers = TextClassifier.load(tmp_path, device="cpu").predict(train[0])
    student = TextClassifier(**dict(tiny, teacher=str(tmp_path), augment=2,
                                    class_weight="balanced")).fit(train[0], labels)
    assert student.classes_.tolist() == ["long", "medium", "short"]
    agree = np.mean([a == b for a, b in zip(student.predict(train[0]), answers)])
    assert agree > 0.6, agree  # chance is about a third


def test_kept_answers_serve_only_the_same_teacher_texts_and_classes(teacher_dir, pang_lee,
                                                                     tmp_path, monkeypatch):
    texts, labels = pang_lee[0][:6], pang_lee[1][:6]
    y = np.array([0 if label == "neg" else 1 for label in labels])
    first = distillation_set(teacher_dir, texts, y, ["neg", "pos"], copies=1, seed=0,
                             device="cpu", keep_in=tmp_path)
    asked = []
    real = distill.teacher_probabilities
    monkeypatch.setattr(distill, "teacher_probabilities",
                        lambda *a, **k: asked.append(len(a[1])) or real(*a, **k))
    again = distillation_set(teacher_dir, texts, y, ["neg", "pos"], copies=1, seed=0,
                             device="cpu", keep_in=tmp_path)
    assert asked == [] and np.array_equal(first[1], again[1])  # read back, the same targets
    distillation_set(teacher_dir, texts, y, ["neg", "pos"], copies=1, seed=1, device="cpu",
                     keep_in=tmp_path)  # other copies: asked, and kept instead
    distillation_set(teacher_dir, texts, y, ["pos", "neg"], copies=1, seed=1, device="cpu",
                     keep_in=tmp_path)  # other class order: asked
    (tmp_path / LABELS_FILE).write_bytes(b"cut")  # unreadable: asked, not an error
    distillation_set(teacher_dir, texts, y, ["pos", "neg"], copies=1, seed=1, device="cpu",
                     keep_in=tmp_path)
    assert asked == [12, 12, 12]


def test_a_student_is_the_same_whether_the_teachers_answers_are_asked_or_read(
        teacher_dir, pang_lee_split, tiny, tmp_path, monkeypatch, same_run):
    # a run stopped before its first checkpoint keeps the answers; run again (without
    # --resume) it read them, drew nothing from torch's generator, and its student started
    # from other weights than a run that asked the teacher (10 of 11 tensors differed)
    import shutil

    train, valid = pang_lee_split
    config = dict(tiny, epochs=1, patience=None, teacher=str(teacher_dir), augment=1)
    asked = TextClassifier(**config).fit(*train, valid=valid, out_dir=tmp_path / "asked")
    (tmp_path / "read").mkdir()
    shutil.copy(tmp_path / "asked" / LABELS_FILE, tmp_path / "read" / LABELS_FILE)

    def asked_again(*args, **kwargs):
        raise AssertionError("the answers were there to read")

    monkeypatch.setattr(distill, "teacher_probabilities", asked_again)
    read = TextClassifier(**config).fit(*train, valid=valid, out_dir=tmp_path / "read")
    same_run.tensors(asked.model_.state_dict(), read.model_.state_dict(), "model")
