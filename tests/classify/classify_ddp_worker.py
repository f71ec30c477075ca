"""Run by the classify distributed tests under torchrun: trains ``TextClassifier`` on the Pang &
Lee sample with a checkpoint directory, labels distillation targets with the saved model as the
teacher and runs ``dlcourse classify train --dry-run``; saves this rank's weights, history and
targets. Not a test module itself.

    python -m torch.distributed.run --standalone --nproc_per_node=2 classify_ddp_worker.py OUT
    (add ``minilm`` after OUT: the ``--model minilm`` CLI run alone; ``resume``: a run with
    dropout stopped inside an epoch and resumed, beside the same run never stopped)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from dlcourse.classify import TextClassifier, distill, holdout, load_pang_lee_sample
from dlcourse.classify.encoding import class_indices
from dlcourse.cli.main import main as cli
from dlcourse.engine.distributed import barrier, init_distributed, rank, shutdown_distributed
from dlcourse.errors import TrainingInterrupted

# shared with the single-process runs of test_distributed.py; 160 training texts in one bucket
# pool make 10 global batches of 16, so each of 2 ranks takes 8 items a step. No dropout of any
# kind and no adversarial step: their random draws and per-rank gradients depend on how a batch
# is split, and the test compares 2 processes with 1
CONFIG = dict(model="gru", embed_dim=16, hidden_size=16, num_layers=1, dropout=0.0, epochs=2,
              batch_size=16, lr=0.01, monitor="loss", word_dropout=0.0, adversarial=0.0,
              pretrained=None, device="cpu")


def split():
    """(train, valid): 160 and 40 sentences of the Pang & Lee sample, stratified."""
    return holdout(*load_pang_lee_sample(), fraction=0.2, seed=0)


def run(out: Path) -> None:
    torch.set_num_threads(1)
    init_distributed("cpu")
    train, valid = split()
    clf = TextClassifier(**CONFIG).fit(*train, valid=valid, out_dir=out / "fit")
    clf.save(out / "fit")                                     # rank 0 only
    torch.save({"model": clf.model_.state_dict(), "history": clf.history_,
                "best_epoch": clf.best_epoch_}, out / f"rank{rank()}.pt")
    barrier()                                         # rank 0's saved model is the teacher
    asked = []                                        # how many texts this rank's teacher saw
    ask = distill.teacher_probabilities

    def counted(teacher, texts, *args):
        asked.append(len(texts))
        return ask(teacher, texts, *args)

    distill.teacher_probabilities = counted
    y = class_indices(train[1], clf.classes_)
    _, soft, hard = distill.distillation_set(out / "fit", train[0], y, clf.classes_, copies=2,
                                             seed=0, device="cpu", keep_in=out / "labels",
                                             write=rank() == 0)
    distill.teacher_probabilities = ask
    torch.save({"soft": soft, "hard": hard, "asked": asked}, out / f"labels{rank()}.pt")
    try:                                   # the CLI joins the existing group and leaves it up
        cli(["classify", "train", "pang-lee-sample", "--dry-run", "--model", "gru",
             "--dropout", "0", "--device", "cpu", "--out", str(out / "cli")])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    shutdown_distributed()


def run_minilm(out: Path) -> None:
    """``classify train --model minilm`` (a tiny random encoder) under torchrun, in a launch of
    its own: a second CLI call in one process races the first one's group teardown."""
    torch.set_num_threads(1)
    try:
        cli(["classify", "train", "pang-lee-sample", "--dry-run", "--model", "minilm",
             "--pretrained", "none", "--hidden-size", "16", "--layers", "1", "--heads", "2",
             "--dropout", "0", "--device", "cpu", "--out", str(out)])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise


def run_resume(out: Path) -> None:
    """The run never stopped, and the same run stopped after 13 steps (epoch 2, batch 3) and
    resumed, with dropout and word dropout on: the ranks draw different noise (each takes its
    own half of a batch), so each rank's generators must come back as they were."""
    torch.set_num_threads(1)
    init_distributed("cpu")
    train, valid = split()
    config = {**CONFIG, "dropout": 0.5, "word_dropout": 0.2}
    full = TextClassifier(**config).fit(*train, valid=valid, out_dir=out / "full")
    os.environ["DLCOURSE_INTERRUPT_AFTER"] = "13"
    try:
        TextClassifier(**config).fit(*train, valid=valid, out_dir=out / "part")
        raise AssertionError("the run was not interrupted")
    except TrainingInterrupted as exc:
        stopped = str(exc)
    del os.environ["DLCOURSE_INTERRUPT_AFTER"]
    part = TextClassifier(**config).fit(*train, valid=valid, out_dir=out / "part", resume=True)
    torch.save({"full": full.model_.state_dict(), "part": part.model_.state_dict(),
                "histories": (full.history_, part.history_), "stopped": stopped},
               out / f"resume{rank()}.pt")
    shutdown_distributed()


if __name__ == "__main__":
    if sys.argv[2:] == ["minilm"]:
        run_minilm(Path(sys.argv[1]))
    elif sys.argv[2:] == ["resume"]:
        run_resume(Path(sys.argv[1]))
    else:
        run(Path(sys.argv[1]))
