"""The settings of the word-vector trainers: one dataclass each, every default once (torch-free).

:class:`Word2VecConfig` (gensim's names and defaults where gensim has them) and
:class:`GloVeConfig` (Stanford GloVe's) are what :class:`~dlcourse.embeddings.Word2Vec` and
:class:`~dlcourse.embeddings.GloVe` validate when ``fit`` starts, and what ``dlcourse embed
train`` generates its options from, so the Python API and the command line refuse the same
values with the same message. Nothing here imports numpy or torch.

Example:
    >>> Word2VecConfig(method="cbow", window=3).validate().window
    3
    >>> Word2VecConfig(epochs=0).validate()
    Traceback (most recent call last):
    ...
    dlcourse.errors.ConfigError: epochs must be >= 1, got 0
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

from dlcourse.engine.config import MAX_EPOCHS, SEED_MAX, Config, param
from dlcourse.errors import ConfigError

#: how many of the most frequent words an evaluation searches and scores (gensim's default)
RESTRICT_VOCAB = 300_000
#: how an analogy a : b :: c : ? is scored: 3CosAdd (the word nearest b - a + c, gensim's
#: most_similar) or 3CosMul (Levy and Goldberg's product of similarities); the first is the default
ANALOGY_METHODS = ("3cosadd", "3cosmul")
ANALOGY_METHOD = ANALOGY_METHODS[0]

METHODS = ("skipgram", "cbow")
BACKENDS = ("auto", "numba", "torch")
# settings that change how fast or where a run computes, never what the resumed run must agree
# with: a resumed run may change them (workers only matter for Hogwild, which is not
# reproducible anyway; memory_mb changes no bit of the co-occurrence table; backend only picks
# the trainer, which a checkpoint's resolved "trainer" pins). GloVe's epochs too:
# its schedule does not depend on them, so a finished run resumed with more epochs ends as a
# longer run would; word2vec's learning rate falls over all its epochs, so they are fixed
MAX_WORKERS = 1024  # threads; 100,000 hung starting them
MAX_BLOCKS = 4096  # GloVe's P: its P x P loss table; 100,000 asked numpy for 74.5 GiB
RESUME_FREE = ("workers", "device", "memory_mb", "progress", "backend")


def _physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        return None


def _data_goes_to_fit(estimator: str) -> dict[str, str]:
    """The hints for the data a gensim user passes to the constructor, which here only stores
    settings."""
    return {name: f"the constructor only stores settings; pass the data to fit: "
                  f"{estimator}(...).fit({what})"
            for name, what in (("sentences", "sentences"), ("corpus_iterable", "sentences"),
                               ("corpus_file", "'corpus.txt'"))}


@dataclass
class Word2VecConfig(Config):
    """Every hyper-parameter of :class:`~dlcourse.embeddings.Word2Vec` (skip-gram or CBOW with
    negative sampling, frequent-word subsampling, a reduced window and a linear learning-rate
    decay, as word2vec.c and gensim train)."""

    aliases: ClassVar[dict[str, str]] = {"embed_dim": "vector_size", "min_freq": "min_count",
                                           "lr": "alpha", "min_lr": "min_alpha",
                                           "learning_rate": "alpha",
                                           "max_final_vocab": "max_vocab"}  # gensim's
    elsewhere: ClassVar[dict[str, str]] = {**_data_goes_to_fit("Word2Vec"), **{
        "sg": "gensim's sg is method here: method='skipgram' (sg=1) or method='cbow' (sg=0)",
        "hs": "hierarchical softmax is not implemented; negative sampling (negative=5) is",
        "size": "gensim 3's size is vector_size (gensim 4's name)",
        "iter": "gensim 3's iter is epochs (gensim 4's name)",
        "max_vocab_size": "to keep the N most frequent words write max_vocab=N",
        "compute_loss": ("the loss is always measured: history_ holds it per epoch (gensim's "
                         "train(compute_loss=True) and get_latest_training_loss() work too)"),
        "callbacks": "pass one function to fit: fit(sentences, callback=fn), called with the "
                     "epoch, words, words/s and loss",
    }}
    resume_free: ClassVar[tuple[str, ...]] = RESUME_FREE


    method: str = param("skipgram", "skipgram (a word's vector predicts the words around it) "
                        "or cbow (the mean of the context predicts the word).", choices=METHODS)
    vector_size: int = param(100, "Dimensions of the word vectors.", min=1, max=65536)
    window: int = param(5, "Context words on each side (a random 1..window each position; "
                        "GloVe's default: 10).", min=1, max=10000)
    min_count: int = param(5, "Ignore words seen fewer times in the corpus.", min=1)
    max_vocab: int | None = param(None, "Keep only the N most frequent words; none: all.", min=1)
    negative: int = param(5, "Noise words drawn per prediction (negative sampling; on the CPU "
                             "skip-gram shares one draw across a centre word's window).", min=1,
                         max=1000)
    ns_exponent: float = param(0.75, "Noise distribution: counts to this power (1: by "
                               "frequency, 0: uniform, negative: rare words first).",
                               min=-1.0, max=1.0)
    sample: float = param(1e-3, "Subsampling threshold of frequent words; 0: keep every word.",
                          min=0.0, max=1.0)
    alpha: float = param(0.025, "Start learning rate, falling linearly to min_alpha over the "
                         "run (GloVe's default: 0.05).", min=0.0, exclusive_min=True, max=10.0)
    min_alpha: float = param(1e-4, "Final learning rate.", min=0.0, max=10.0)
    epochs: int = param(5, "Passes over the corpus (GloVe's default: 25).", min=1, max=MAX_EPOCHS)
    cbow_mean: bool = param(True, "CBOW: the mean of the context vectors (off: their sum).")
    workers: int | None = param(None, "CPU threads updating the shared vectors without locks "
                                "(Hogwild: reproducible only with 1, stopped and resumed or not; "
                                "GloVe's result does not depend on them, see blocks); none: "
                                "dlcourse --threads (default the physical cores).", min=1,
                                max=MAX_WORKERS)
    seed: int = param(0, "Seed of the start vectors, subsampling and noise words.",
                      min=0, max=SEED_MAX)
    device: str = param("auto", "auto (a GPU when present, else the CPU, which needs no torch), "
                        "cpu, cuda, cuda:N or mps.")
    backend: str = param("auto", "auto: the compiled CPU kernel on the CPU, batched torch on a "
                         "GPU or under torchrun; numba; torch (any device).", choices=BACKENDS)
    batch_size: int = param(16384, "Torch path: (context, word) pairs or CBOW windows per update "
                            "step.", min=1)
    progress: bool = param(False, "Show a progress bar over the words, with the loss and "
                           "words/s.", cli=False)

    def check(self) -> None:
        """Rules across fields: the learning rates, the backend."""
        if self.min_alpha > self.alpha:
            raise ConfigError(f"min_alpha {self.min_alpha:g} is above the start learning rate "
                              f"{self.alpha:g}: the rate decays over training", "min_alpha")
        if self.backend == "numba" and self.device.strip().lower() not in ("cpu", "auto"):
            raise ConfigError(f"backend numba runs on the CPU, not on {self.device!r}; use "
                              "backend torch (or auto) for a GPU", "backend")


@dataclass
class GloVeConfig(Config):
    """Every hyper-parameter of :class:`~dlcourse.embeddings.GloVe` (Stanford GloVe's names and
    defaults: a symmetric window weighted 1/distance, AdaGrad, x_max 100, alpha 0.75)."""

    aliases: ClassVar[dict[str, str]] = {"embed_dim": "vector_size", "min_freq": "min_count",
                                           "lr": "eta",  # Stanford's glove.c and build scripts:
                                           "learning_rate": "eta", "max_iter": "epochs",
                                           "window_size": "window", "vocab_min_count": "min_count",
                                           "threads": "workers"}
    elsewhere: ClassVar[dict[str, str]] = {
        **_data_goes_to_fit("GloVe"),
        "device": "GloVe trains on the CPU (a compiled lock-free AdaGrad kernel); it takes no "
                  "device",
    }
    resume_free: ClassVar[tuple[str, ...]] = RESUME_FREE + ("epochs",)


    vector_size: int = param(100, "Dimensions of the word vectors.", min=1, max=65536)
    window: int = param(10, "Context words on each side, weighted 1/distance.", min=1,
                        max=10000)
    min_count: int = param(5, "Ignore words seen fewer times in the corpus.", min=1)
    max_vocab: int | None = param(None, "Keep only the N most frequent words; none: all.", min=1)
    x_max: float = param(100.0, "Co-occurrence count at which an entry gets full weight (10 "
                         "suits corpora of a few million words).", min=0.0, exclusive_min=True)
    alpha: float = param(0.75, "Exponent of the weighting function: an entry counted x < x_max "
                         "times weighs (x / x_max) to this power.", min=0.0, exclusive_min=True,
                         max=10.0)
    eta: float = param(0.05, "AdaGrad's start learning rate.", min=0.0, exclusive_min=True,
                       max=10.0)
    epochs: int = param(25, "Passes over the co-occurrence table.", min=1, max=MAX_EPOCHS)
    workers: int | None = param(None, "CPU threads; none: dlcourse --threads (default the "
                                "physical cores; under torchrun the cores per process).", min=1,
                                max=MAX_WORKERS)
    seed: int = param(0, "Seed of the start vectors and of the table's shuffle.", min=0,
                      max=SEED_MAX)
    memory_mb: int = param(256, "Counting buffer in MiB (the same table for any size).", min=1)
    blocks: int | None = param(None, "Vocabulary parts P of the lock-free schedule (the vectors "
                               "depend on the seed and P only); none: processes x workers (on "
                               "--resume: the first run's P).", min=1, max=MAX_BLOCKS)
    progress: bool = param(False, "Show a progress bar over the epochs, with the loss.",
                           cli=False)

    def check(self) -> None:
        # a buffer past the machine's memory failed in numpy only after the vocabulary was built
        total = _physical_memory()
        if total is not None and self.memory_mb * 2**20 > total:
            raise ConfigError(f"memory_mb {self.memory_mb} MiB is more than this machine's "
                              f"memory ({total / 2**30:.1f} GiB); the default 256 counts any "
                              "corpus", "memory_mb")

    def resume_values(self) -> dict:
        """The settings a resumed run must share with the run it continues (plain values).

        ``blocks`` left at None is not among them: a resumed run then takes the P its first
        run worked out (the saved settings hold that P), whatever the processes and threads.
        """
        values = super().resume_values()
        if self.blocks is None:
            del values["blocks"]
        return values
