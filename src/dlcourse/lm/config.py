"""The language models' settings: every default once, with its help and valid range (torch-free).

:class:`LMConfig` holds the hyper-parameters of a run (what :class:`~dlcourse.lm.LanguageModel`
trains), :class:`CorpusConfig` how a text becomes id streams (tokenizer, vocabulary, lines).
The command line generates its ``lm train`` options from both, so ``--help`` imports no torch.

Example:
    >>> LMConfig.preset("embedding", epochs=3).embed_dim
    100
    >>> LMConfig(dropout=1.5).validate()
    Traceback (most recent call last):
    ...
    dlcourse.errors.ConfigError: dropout must be <= 0.95, got 1.5
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from dlcourse.engine.config import MAX_EPOCHS, MAX_LAYERS, MAX_WIDTH, SEED_MAX, Config, param
from dlcourse.errors import ConfigError, DlcourseError
from dlcourse.text.tokenizers import TOKENIZERS as TEXT_TOKENIZERS

log = logging.getLogger(__name__)

MODELS = ("embedding", "lstm")
OPTIMIZERS = ("adam", "sgd")
# the lesson's model predicts, generates and compares words: no subword pieces
TOKENIZERS = tuple(name for name in TEXT_TOKENIZERS if name != "wordpiece")

# named corpora (as `dlcourse data list` names them) -> their default tokenizer: PTB and
# WikiText come tokenized (whitespace-separated, `<unk>` already in)
SOURCES = {
    "ptb": "whitespace",
    "wikitext-2": "whitespace",
    "wordnet": "basic_english",
    "wikipedia-sample": "basic_english",
    "rt-sentences": "basic_english",
    "lee": "basic_english",
}
# the names this lesson used before every data set had one name
OLD_NAMES = {"wikipedia": "wikipedia-sample", "reviews": "rt-sentences", "wikitext2": "wikitext-2"}
# sampling: the words drawn among when no top_k is given (0 or None: all words), and the most
# words one sample may draw (a larger count is a typo that would run for hours)
TOP_K = 40
MAX_TOKENS = 100_000

#: the most parallel streams of --batch-size and --eval-batch-size: far above any run (each
#: stream is a row of every window's logits), so that a typo is refused before any data is read
MAX_STREAMS = 65536
#: the eval_batch_size of a run that sets none, where the valid and test splits hold it
EVAL_BATCH_SIZE = 10

# name -> the fields that differ from LMConfig's defaults (which are the "lstm" recipe)
PRESETS: dict[str, dict[str, Any]] = {
    # the embeddings lesson: a 100-d table, Adam 1e-3, cross-entropy, 10 epochs, nothing else
    "embedding": dict(model="embedding", embed_dim=100, optimizer="adam", lr=1e-3, epochs=10,
                      grad_clip=None, lr_decay=None, patience=None, shuffle=True),
    "lstm": {},
    # Zaremba et al. 2014 medium size with the pytorch/examples optimiser (SGD lr 20, /4 on
    # plateau, clip 0.25): ~82 test perplexity on PTB after 39 epochs on a GPU
    "ptb-medium": dict(embed_dim=650, hidden_dim=650, num_layers=2, dropout=0.5,
                       tie_weights=False, epochs=39, optimizer="sgd", lr=20.0, grad_clip=0.25,
                       lr_decay=0.25, patience=None),
}


@dataclass
class LMConfig(Config):
    """Every hyper-parameter of a language-model run; the defaults are the CPU-sized LSTM.

    :meth:`preset` gives the named recipes: ``embedding`` (the lesson), ``lstm`` (these
    defaults) and ``ptb-medium`` (Zaremba et al.'s medium LSTM, for a GPU).
    """

    # the classifier's name, and the SOM's and scikit-learn's for the learning rate
    aliases: ClassVar[dict[str, str]] = {"hidden_size": "hidden_dim", "learning_rate": "lr"}
    # early stopping only decides where a run stops (like epochs): a resumed run may change it
    resume_free: ClassVar[tuple[str, ...]] = ("patience",)


    model: str = param("lstm", "Architecture: embedding (the lesson's embedding -> linear "
                       "next-word model) or lstm.", choices=MODELS)
    embed_dim: int = param(200, "Width of the word embeddings (embedding preset 100, "
                           "ptb-medium 650).", min=1, max=MAX_WIDTH)
    hidden_dim: int = param(200, "LSTM units per layer (ptb-medium 650).", min=1, max=MAX_WIDTH)
    num_layers: int = param(2, "Stacked LSTM layers.", min=1, max=MAX_LAYERS)
    dropout: float = param(0.2, "Dropout on the embeddings, between LSTM layers and before the "
                           "decoder (ptb-medium 0.5).", min=0.0, max=0.95)
    tie_weights: bool = param(True, "Share the embedding table with the decoder; needs "
                              "embed_dim == hidden_dim (ptb-medium: off).")
    bptt: int = param(35, "Window length of truncated back-propagation through time.", min=1)
    batch_size: int = param(20, "Parallel streams B (under torchrun a multiple of the "
                            "processes); the train split must hold two tokens a stream.",
                            min=1, max=MAX_STREAMS)
    eval_batch_size: int | None = param(
        None, "Parallel streams when measuring perplexity (each starts without context: more "
        "streams, a higher perplexity); the valid and test splits must hold two tokens a "
        f"stream. none: {EVAL_BATCH_SIZE}, or the most the splits hold when they are shorter "
        "(with a note).", min=1, max=MAX_STREAMS)
    epochs: int = param(10, "Passes over the training stream (ptb-medium 39).", min=1,
                        max=MAX_EPOCHS)
    optimizer: str = param("adam", "adam or sgd (ptb-medium: sgd).", choices=OPTIMIZERS)
    lr: float = param(2e-3, "Learning rate (embedding preset 1e-3, ptb-medium 20).", min=0.0,
                      exclusive_min=True, max=1000.0)
    grad_clip: float | None = param(0.25, "Clip the gradient norm to this; none: no clipping "
                                    "(embedding preset: none).", min=0.0, exclusive_min=True)
    lr_decay: float | None = param(0.25, "Multiply the LR by this when the valid loss does not "
                                   "improve; none: constant (embedding preset: none).",
                                   min=0.0, max=0.99, exclusive_min=True)
    patience: int | None = param(2, "Epochs in a row without a better valid perplexity that "
                                 "are tolerated (it stops at the next one); none: never "
                                 "(embedding, ptb-medium: none).", min=0)
    shuffle: bool = param(False, "Visit the windows in a random order each epoch (embedding "
                          "model only: the LSTM carries its state from window to window).")
    amp: bool = param(False, "Mixed precision, training and evaluation alike (CUDA only; "
                      "ignored on the CPU).")
    deterministic: bool = param(False, "Deterministic cuDNN kernels on CUDA (slower; the CPU "
                                "gives the same weights for a seed either way).")
    seed: int = param(0, "Seed of the initial weights, dropout and window order.", min=0,
                      max=SEED_MAX)
    device: str = param("auto", "auto (GPU when present), cpu, cuda, cuda:N or mps.")
    progress: bool = param(False, "Show a progress bar per epoch.", cli=False)

    def resume_values(self) -> dict[str, Any]:
        """As :meth:`Config.resume_values`, without an ``eval_batch_size`` left to the data
        (None): ``fit`` compares the streams it resolves to (:func:`auto_eval_streams`)."""
        values = super().resume_values()
        if values["eval_batch_size"] is None:
            del values["eval_batch_size"]
        return values

    def check(self) -> None:
        """Rules across fields: shuffling and weight tying."""
        if self.shuffle and self.model != "embedding":
            raise ConfigError("shuffle breaks the hidden state the LSTM carries across "
                              "windows; use it with --model embedding (in Python: "
                              "model='embedding')", "shuffle")
        if self.model == "lstm" and self.tie_weights and self.embed_dim != self.hidden_dim:
            raise ConfigError(
                f"tie_weights needs embed_dim == hidden_dim (got {self.embed_dim} and "
                f"{self.hidden_dim}); make them equal or turn tying off", "tie_weights")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> LMConfig:
        """A named recipe with ``overrides`` applied (``None`` values are ignored, so optional
        command-line values pass straight through). Not validated (see ``validate``).

        Args:
            name: ``embedding``, ``lstm`` or ``ptb-medium``.
            **overrides: config fields to change.

        Raises:
            ConfigError: unknown preset or field, naming the valid ones.

        Example:
            >>> LMConfig.preset("ptb-medium", epochs=2).hidden_dim
            650
        """
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}",
                              "model")
        changes = {**PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}}
        return cls().replace(**changes)


@dataclass
class CorpusConfig(Config):
    """How ``load_corpus`` turns text into id streams: tokenizer, vocabulary and size limits."""

    aliases: ClassVar[dict[str, str]] = {"max_vocab": "max_size", "min_count": "min_freq"}


    tokenizer: str | None = param(None, "Tokenizer; none: whitespace for ptb and wikitext-2 "
                                  "(already tokenized), basic_english otherwise.",
                                  choices=TOKENIZERS)
    max_size: int | None = param(10000, "Most words in the vocabulary, besides the specials "
                                 "<pad>, <unk> and <eos> (at least 4); none: all.", min=4)
    min_freq: int = param(2, "Drop words seen fewer times in the training split.", min=1)
    max_lines: int | None = param(None, "Use only the first N training lines (N // 8 valid and "
                                  "test lines); none: all.", min=1)
    encoding: str = param("utf-8", "Text encoding of DATA files, e.g. latin-1 or cp1252.")

    def check(self) -> None:
        from dlcourse.text.reading import check_encoding

        try:
            check_encoding(self.encoding)
        except DlcourseError as e:  # the same words as every text command's --encoding
            raise ConfigError(str(e), "encoding") from None


def most_streams(tokens: int) -> int:
    """The most parallel streams a stream of ``tokens`` ids is cut into: two tokens a stream
    (one read, the next predicted), as :func:`~dlcourse.lm.batching.batchify` needs.

    Example:
        >>> most_streams(1930)
        965
    """
    return max(1, tokens // 2)


def check_streams(config: LMConfig, tokens: dict[str, int], name: str = "the corpus") -> None:
    """Refuse, before a model is built, a ``batch_size`` the train split cannot hold or an
    ``eval_batch_size`` the valid or test split cannot hold (two tokens a stream, see
    :func:`most_streams`): more streams would leave the training nothing to read, and would cut
    a measured split into one-token predictions without context, a perplexity not comparable
    with another run's.

    Args:
        config: the run's settings.
        tokens: split (``train``, ``valid``, ``test``) -> its tokens; the splits given are
            checked.
        name: the corpus, as the message names it.

    Raises:
        ConfigError: on ``batch_size`` or ``eval_batch_size``, naming the most the split holds.

    Example:
        >>> check_streams(LMConfig(eval_batch_size=1000), {"train": 17237, "valid": 1930})
        Traceback (most recent call last):
        ...
        dlcourse.errors.ConfigError: eval_batch_size 1000 is more streams than the valid split \
of the corpus holds: its 1,930 tokens make at most 965 (two tokens a stream); lower it or give \
more text
    """
    for split, count in tokens.items():
        field = "batch_size" if split == "train" else "eval_batch_size"
        streams = getattr(config, field)  # None: left to the data (auto_eval_streams)
        if streams is not None and streams > most_streams(count):
            raise ConfigError(f"{field} {streams} is more streams than the {split} split of "
                              f"{name} holds: its {count:,} tokens make at most "
                              f"{most_streams(count):,} (two tokens a stream); lower it or give "
                              "more text", field)


def auto_eval_streams(config: LMConfig, tokens: dict[str, int],
                      called: str = "eval_batch_size") -> tuple[LMConfig, str | None]:
    """``config`` with an ``eval_batch_size`` left to the data (None) resolved, as ``fit`` and
    ``lm train`` both measure: :data:`EVAL_BATCH_SIZE` streams, or the most the shortest of
    the valid and test splits holds (see :func:`most_streams`), with the note that says so. A
    value that was set is kept (:func:`check_streams` refuses it if the splits cannot hold it).

    Args:
        config: the run's settings.
        tokens: split -> its tokens; the ``valid`` and ``test`` ones given are measured.
        called: the setting's name in the note (``--eval-batch-size`` on the command line).

    Returns:
        ``(config, note)``: ``note`` is None unless fewer streams than the default are used.

    Example:
        >>> config, note = auto_eval_streams(LMConfig(), {"train": 80, "valid": 7, "test": 9})
        >>> config.eval_batch_size, note
        (3, 'eval_batch_size 10 is more streams than the valid and test splits hold (7 tokens, \
two a stream): measuring with 3')
    """
    if config.eval_batch_size is not None:
        return config, None
    measured = {split: count for split, count in tokens.items() if split in ("valid", "test")}
    shortest = min(measured.values(), default=2 * EVAL_BATCH_SIZE)
    fits = min(EVAL_BATCH_SIZE, most_streams(shortest))
    note = None
    if fits < EVAL_BATCH_SIZE:
        splits = " and ".join(measured) + (" splits hold" if len(measured) > 1 else " split holds")
        note = (f"{called} {EVAL_BATCH_SIZE} is more streams than the {splits} ({shortest:,} "
                f"tokens, two a stream): measuring with {fits}")
    return config.replace(eval_batch_size=fits), note


def source_name(name: str) -> str | None:
    """The ``dlcourse data list`` name of a named corpus (old spellings accepted with a note on
    the log), or None when ``name`` names none (it may be a path).

    Example:
        >>> source_name("lee"), source_name("corpus.txt")
        ('lee', None)
    """
    key = name.strip()
    if key in OLD_NAMES:
        from dlcourse.data.names import HELD

        log.warning("note: the corpus '%s' is now called '%s' (the name `dlcourse data list` "
                    "shows)", key, OLD_NAMES[key], extra=HELD)
        return OLD_NAMES[key]
    return key if key in SOURCES else None


def default_tokenizer(name: str) -> str:
    """The tokenizer of a corpus read without one: whitespace for a named corpus that comes
    tokenized (PTB, WikiText), basic_english for the others and for files."""
    return SOURCES.get(name, "basic_english")


def data_settings(name: str, tokenizer_config: dict, settings: dict) -> dict[str, Any]:
    """What a resumed run must share with the run it continues besides the config: the corpus
    ``name``, the tokenizer and the ``load_corpus`` settings that chose the lines and the
    vocabulary (a :class:`~dlcourse.lm.corpus.Corpus`'s ``settings``; the split's seed is
    ``split_seed``), so that the refusal names the one that changed. A file or folder is
    compared by its text alone (the corpus's fingerprint, which ``fit`` adds): a copy of it
    elsewhere resumes the run.

    Example:
        >>> data_settings("lee", {"name": "basic_english"}, {"seed": 0, "max_lines": 60})
        {'data': 'lee', 'tokenizer': {'name': 'basic_english'}, 'split_seed': 0, 'max_lines': 60}
    """
    named = {} if source_name(name) is None else {"data": name}
    return {**named, "tokenizer": dict(tokenizer_config),
            **{("split_seed" if key == "seed" else key): v for key, v in settings.items()}}


def split_files(directory: Path) -> dict[str, list[Path]]:
    """The files of a folder in the PTB/WikiText layout: for each of ``train``, ``valid`` and
    ``test``, the files whose names contain it (a usable folder has exactly one each)."""
    return {split: sorted(p for p in directory.iterdir() if p.is_file() and split in p.name)
            for split in ("train", "valid", "test")}
