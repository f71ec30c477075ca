"""Language-model corpora: PTB, WikiText-2, offline texts and files -> id streams with <eos>."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from dlcourse.engine.config import SEED_MAX, whole_number
from dlcourse.errors import ConfigError, DlcourseError, InputError, MissingFileError
from dlcourse.lm.config import (
    SOURCES,
    CorpusConfig,
    default_tokenizer,
    source_name,
    split_files,
)

log = logging.getLogger(__name__)

EOS = "<eos>"
UNK = "<unk>"
SPECIALS = ("<pad>", UNK, EOS)


@dataclass
class Corpus:
    """Train/valid/test word-id streams with their vocabulary and tokenizer.

    Attributes:
        name: where the text came from (a source name or a file path).
        train, valid, test: (N,) int64 id streams, ``<eos>`` after every line.
        itos: the vocabulary, id -> word (specials ``<pad>``, ``<unk>``, ``<eos>`` first).
        tokenizer_config: plain dict that rebuilds the tokenizer (``tokenizer_from_config``).
        settings: the :func:`load_corpus` arguments that chose the lines and the vocabulary
            (``seed``, ``max_lines``, ``encoding``, ``max_size``, ``min_freq``), so that the
            same split can be read again; empty for a corpus built from lists of lines.
    """

    name: str
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    itos: list[str]
    tokenizer_config: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Token counts and vocabulary size, plain types."""
        return {
            "data": self.name,
            "train_tokens": int(self.train.numel()),
            "valid_tokens": int(self.valid.numel()),
            "test_tokens": int(self.test.numel()),
            "vocab_size": len(self.itos),
        }

    def fingerprint(self) -> str:
        """What training reads, in words and a short digest (of the vocabulary and the train
        and valid streams: the valid split decides early stopping and the LR decay), so that
        a resumed run on other data is refused by saying so rather than naming a setting.

        Example:
            >>> corpus.fingerprint()  # doctest: +SKIP
            '18,374 training tokens, a vocabulary of 2,258 words, sha256 8cd99fbbea52d88a'
        """
        import hashlib

        digest = hashlib.sha256("\n".join(self.itos).encode("utf-8", "surrogatepass"))
        for split in (self.train, self.valid):
            digest.update(split.to(torch.int64).cpu().numpy().tobytes())
        return (f"{self.train.numel():,} training tokens, a vocabulary of {len(self.itos):,} "
                f"words, sha256 {digest.hexdigest()[:16]}")

    def unknown_share(self, split: str) -> float:
        """The share of ``split``'s tokens (``<eos>`` included, as perplexity counts them)
        that are ``<unk>``: words the vocabulary lacks. A perplexity over mostly-``<unk>``
        text says how well the model predicts "some unknown word", not the text.

        Args:
            split: "train", "valid" or "test".

        Returns:
            A share in [0, 1]; 0.0 for an empty split or a vocabulary without ``<unk>``.

        Raises:
            InputError: ``split`` is not train, valid or test.
        """
        if split not in ("train", "valid", "test"):
            raise InputError(f"split must be train, valid or test, got {split!r}")
        ids = getattr(self, split)
        if ids.numel() == 0 or UNK not in self.itos:
            return 0.0
        return float((ids == self.itos.index(UNK)).sum()) / ids.numel()


def encode_lines(lines: Iterable[str], tokenizer, stoi: dict[str, int]) -> torch.Tensor:
    """Tokenize each line, append ``<eos>``, map to ids (unknown words -> ``<unk>``).

    Empty lines are skipped. Returns a (N,) int64 stream.
    """
    unk, eos = stoi[UNK], stoi[EOS]
    ids: list[int] = []
    for line in lines:
        tokens = tokenizer(line)
        if tokens:
            ids.extend(stoi.get(t, unk) for t in tokens)
            ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


def corpus_from_splits(
    name: str,
    train: Sequence[str],
    valid: Sequence[str],
    test: Sequence[str],
    tokenizer: str | dict = "basic_english",
    max_size: int | None = CorpusConfig.max_size,
    min_freq: int = CorpusConfig.min_freq,
    vocab: list[str] | None = None,
) -> Corpus:
    """Build a :class:`Corpus` from three lists of lines; the vocabulary comes from ``train``.

    Args:
        name: label stored with the corpus.
        train, valid, test: lines of text (one sentence, gloss or paragraph each).
        tokenizer: ``dlcourse.text.get_tokenizer`` name (basic_english, whitespace, spacy) or
            a tokenizer config dict (``tokenizer_from_config``).
        max_size: vocabulary cap (specials included as the text layer counts them).
        min_freq: drop words seen fewer times in ``train``.
        vocab: use this id -> word list (a trained model's) instead of building one.

    Raises:
        ValueError: a split that is one string or holds a line that is not a string, an empty
            split, one whose lines hold no words, or a vocabulary built of the specials alone
            (no word occurs ``min_freq`` times, or ``max_size`` 0).
    """
    from dlcourse.text import Vocab, get_tokenizer, tokenizer_from_config

    splits = {"train": train, "valid": valid, "test": test}
    for split, lines in splits.items():
        if isinstance(lines, str):  # iterating it would give one line per character
            raise InputError(f"the {split} split must be a list of lines, got one string; "
                             "pass text.splitlines()")
        lines = splits[split] = list(lines)
        bad = next((i for i, line in enumerate(lines) if not isinstance(line, str)), None)
        if bad is not None:
            raise InputError(f"line {bad} of the {split} split is {type(lines[bad]).__name__} "
                             f"{lines[bad]!r}, not a string; drop or fill the missing lines")
        if not lines:
            raise InputError(f"the {split} split of {name!r} is empty; give more text")
    train, valid, test = splits["train"], splits["valid"], splits["test"]
    if isinstance(tokenizer, dict):
        tok = tokenizer_from_config(tokenizer)
    else:
        tok = get_tokenizer(tokenizer)
    train_tokens = tok.batch(train)
    if vocab is None:
        built = Vocab.build(
            train_tokens, max_size=max_size, min_freq=min_freq, specials=SPECIALS, unk_token=UNK
        )
        itos = list(built.itos)
    else:
        itos = list(vocab)
        if UNK not in itos or EOS not in itos:
            raise InputError(f"the vocabulary must contain {UNK} and {EOS}")
    stoi = {w: i for i, w in enumerate(itos)}
    eos = stoi[EOS]
    unk = stoi[UNK]
    train_ids: list[int] = []
    for tokens in train_tokens:
        if tokens:
            train_ids.extend(stoi.get(t, unk) for t in tokens)
            train_ids.append(eos)
    corpus = Corpus(
        name=name,
        train=torch.tensor(train_ids, dtype=torch.long),
        valid=encode_lines(valid, tok, stoi),
        test=encode_lines(test, tok, stoi),
        itos=itos,
        tokenizer_config=dict(tok.config),
    )
    for split in ("train", "valid", "test"):  # lines of blanks or punctuation the tokenizer drops
        if getattr(corpus, split).numel() == 0:
            raise InputError(f"the {split} split of {name!r} holds no words; give more text")
    if len(itos) == len(SPECIALS) and vocab is None:  # every word would be <unk>
        raise InputError(
            "max_size=0 leaves no word in the vocabulary; raise it" if max_size == 0 else
            f"no word occurs min_freq={min_freq} times or more in the train split of {name!r}; "
            "lower min_freq (--min-freq)")
    s = corpus.summary()
    log.info("%s: %s training, %s validation, %s test tokens; %s words in the vocabulary",
             s["data"], f"{s['train_tokens']:,}", f"{s['valid_tokens']:,}",
             f"{s['test_tokens']:,}", f"{s['vocab_size']:,}")
    return corpus


def split_lines(
    lines: Sequence[str], fractions=(0.8, 0.1, 0.1), seed: int = 0
) -> tuple[list[str], list[str], list[str]]:
    """Split lines into train/valid/test by a seeded random rule, keeping text order inside.

    Uses ``dlcourse.data.readers.split_indices``: the same ``seed`` gives the same split.

    Args:
        lines: the lines of text (any items: they are only moved).
        fractions: the train, valid and test shares, adding up to 1 (one list each).
        seed: seed of the shuffle.

    Raises:
        InputError: ``fractions`` that do not add up to 1.
    """
    from dlcourse.data.readers import split_indices

    parts = split_indices(len(lines), fractions=fractions, seed=seed)
    return tuple([lines[i] for i in sorted(idx.tolist())] for idx in parts)


def read_lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """The lines of a text file; a file that is not text is one error naming it.

    Decoding follows ``dlcourse.text.reading`` (the policy of every text command), so an
    undecodable byte names the file and line and suggests ``--encoding``.

    Raises:
        DlcourseError: undecodable bytes or NUL bytes (a binary file).
    """
    from dlcourse.text.reading import decode_text

    text = decode_text(path.read_bytes(), path, encoding)
    if "\x00" in text:
        raise DlcourseError(f"{path} looks like a binary file (it holds NUL bytes); pass a text "
                            "file with one sentence or paragraph a line")
    return text.splitlines()


def _read_split_files(directory: Path,
                      encoding: str) -> tuple[list[str], list[str], list[str]] | None:
    """Lines of ``*train*``/``*valid*``/``*test*`` files in a directory (PTB, WikiText layout)."""
    files = split_files(directory)
    if any(len(found) != 1 for found in files.values()):
        return None
    return tuple(read_lines(files[split][0], encoding) for split in ("train", "valid", "test"))


def _source_lines(source: str, seed: int) -> tuple[list[str], list[str], list[str]]:
    from dlcourse.data import fetch, readers

    if source in ("ptb", "wikitext-2"):
        splits = _read_split_files(fetch(source), "utf-8")
        if splits is None:
            raise InputError(f"the {source} directory does not hold one train/valid/test file each")
        if source == "wikitext-2":  # drop blank lines; headings stay as lines (" = Title = ")
            splits = tuple([s for s in lines if s.strip()] for lines in splits)
        return splits
    if source == "wordnet":
        return split_lines(readers.read_wordnet_glosses(), seed=seed)
    if source == "lee":
        return split_lines(readers.read_lee(background=True), seed=seed)
    if source == "rt-sentences":
        return split_lines([text for text, _ in readers.read_rt_sentences()], seed=seed)
    if source == "wikipedia-sample":
        # split by article so that no article is in two splits, then one paragraph a line
        train, valid, test = split_lines(readers.read_wikipedia_sample(), seed=seed)
        return tuple(
            [p for doc in docs for p in doc.splitlines() if p.strip()]
            for docs in (train, valid, test)
        )
    raise AssertionError(source)


def load_corpus(
    source: str | Path,
    tokenizer: str | dict | None = CorpusConfig.tokenizer,
    max_size: int | None = CorpusConfig.max_size,
    min_freq: int = CorpusConfig.min_freq,
    seed: int = 0,
    max_lines: int | None = CorpusConfig.max_lines,
    vocab: list[str] | None = None,
    encoding: str = CorpusConfig.encoding,
) -> Corpus:
    """Load a corpus by name or path and encode it as id streams.

    Args:
        source: a data set of ``dlcourse data list``: ``ptb``, ``wikitext-2`` (online,
            checksummed by the data layer), ``wordnet``, ``wikipedia-sample``,
            ``rt-sentences``, ``lee`` (offline; the old names ``wikipedia``, ``reviews`` and
            ``wikitext2`` work too); a UTF-8 text file (one line each; split 80/10/10 by
            ``seed``) or a directory holding ``*train*``, ``*valid*``, ``*test*`` files (the
            PTB layout).
        tokenizer: tokenizer name or config; default whitespace for PTB/WikiText, basic_english
            otherwise.
        max_size, min_freq: vocabulary limits (from the train split).
        seed: seed of the train/valid/test split rule.
        max_lines: keep only the first ``max_lines`` train lines and ``max_lines // 8`` valid
            and test lines (quick runs).
        vocab: encode with this id -> word list (a trained model's ``itos_``) instead.
        encoding: text encoding of a file ``source`` (named data sets are UTF-8).

    Raises:
        ConfigError: a setting :class:`~dlcourse.lm.config.CorpusConfig` refuses (``max_size``
            below 4, ``min_freq`` or ``max_lines`` below 1, an unknown encoding: the error
            ``lm train`` gives for the option), or a ``seed`` that is not an integer from 0 to
            2**32 - 1, before any text is read.
        MissingFileError: ``source`` is neither a known name nor an existing path (an
            InputError and a FileNotFoundError).
        DlcourseError: a file that does not decode with ``encoding``, naming it and the line.
        DataUnavailableError: an online data set that cannot be fetched.

    Example:
        >>> corpus = load_corpus("lee")  # doctest: +SKIP
        >>> corpus.summary()["vocab_size"]  # doctest: +SKIP
    """
    # the checks and words of `lm train`'s options; a tokenizer given as a config (a trained
    # model's) or a name get_tokenizer knows beyond the command line's choices is its to check
    settings = CorpusConfig(max_size=max_size, min_freq=min_freq, max_lines=max_lines,
                            encoding=encoding).validate()
    max_size, min_freq = settings.max_size, settings.min_freq  # np.int64(5) -> 5: JSON values
    max_lines, encoding = settings.max_lines, settings.encoding
    try:
        seed = whole_number("seed", seed, 0, SEED_MAX, f"an integer from 0 to {SEED_MAX:,}")
    except InputError as exc:  # a setting, as LMConfig's seed that `lm train` splits with
        raise ConfigError(str(exc), "seed") from None
    name = source_name(str(source))
    if name is not None:
        splits = _source_lines(name, seed)
    else:
        name = str(source)
        path = Path(source).expanduser()
        if not path.exists():  # a FileNotFoundError too, as open() raises
            raise MissingFileError(
                f"no data {name!r}: give one of {', '.join(SOURCES)} or a path to a text file"
            )
        splits = _read_split_files(path, encoding) if path.is_dir() else None
        if splits is None:
            if path.is_dir():
                raise InputError(
                    f"{path} must hold exactly one *train*, *valid* and *test* file, "
                    "or pass a single text file"
                )
            splits = split_lines(read_lines(path, encoding), seed=seed)
    if max_lines is not None:  # keep the 8:1:1 proportions of train, valid and test
        train, valid, test = splits
        held = max(1, max_lines // 8)
        splits = (train[:max_lines], valid[:held], test[:held])
    corpus = corpus_from_splits(
        name, *splits, tokenizer=tokenizer or default_tokenizer(name), max_size=max_size,
        min_freq=min_freq, vocab=vocab,
    )
    corpus.settings = {"seed": seed, "max_lines": max_lines, "encoding": encoding,
                       "max_size": max_size, "min_freq": min_freq}
    return corpus
