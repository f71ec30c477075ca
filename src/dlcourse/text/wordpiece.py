"""BERT WordPiece (and BPE) subword tokenization through the Hugging Face ``tokenizers`` library."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dlcourse.errors import DlcourseError, InputError, check_choice
from dlcourse.text.tokenizers import Tokenizer, check_texts

__all__ = ["WordPieceTokenizer", "BERT_SPECIALS", "default_vocab_file"]

log = logging.getLogger(__name__)

# BERT's special tokens, in bert-base-uncased's id order after [PAD] (0): [UNK]=100, [CLS]=101 ...
BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_MODELS = ("wordpiece", "bpe")


def default_vocab_file() -> Path:
    """The offline bert-base-uncased ``vocab.txt`` (30,522 tokens), through ``dlcourse.data``."""
    from dlcourse.data import fetch

    return fetch("bert-base-uncased-vocab") / "vocab.txt"


def _read_vocab_txt(path: Path) -> dict[str, int]:
    """vocab.txt: one token a line, the line number (from 0) is its id."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DlcourseError(f"WordPiece vocabulary {path} not found; pass vocab_file= a BERT "
                            "vocab.txt (one token a line)") from None
    except IsADirectoryError:
        raise DlcourseError(f"WordPiece vocabulary {path} is a directory; pass vocab_file= a "
                            "BERT vocab.txt (one token a line)") from None
    except UnicodeDecodeError as e:
        raise DlcourseError(f"{path}: not UTF-8 text ({e.reason}); a vocab.txt is UTF-8") from None
    vocab: dict[str, int] = {}
    for i, tok in enumerate(lines):
        if tok in vocab:
            raise DlcourseError(f"{path}:{i + 1}: token {tok!r} repeats line "
                                f"{vocab[tok] + 1}; each vocab.txt token must be unique")
        vocab[tok] = i
    if "[UNK]" not in vocab:
        raise DlcourseError(f"{path}: no [UNK] token; a BERT vocab.txt needs [UNK] (and [CLS], "
                            "[SEP], [PAD])")
    return vocab


def _bert_pipeline(tk, lowercase: bool):
    """Give a bare ``tokenizers.Tokenizer`` BERT's normalizer, pre-tokenizer, template, decoder."""
    from tokenizers import decoders, normalizers, pre_tokenizers, processors

    tk.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase
    )
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tk.decoder = decoders.WordPiece(prefix="##")
    # registered specials are never split and are skipped by decode(skip_special_tokens=True)
    tk.add_special_tokens([t for t in BERT_SPECIALS if tk.token_to_id(t) is not None])
    cls_id, sep_id = tk.token_to_id("[CLS]"), tk.token_to_id("[SEP]")
    if cls_id is not None and sep_id is not None:
        tk.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
        )
    return tk


class WordPieceTokenizer(Tokenizer):
    """BERT-style subword tokenizer: lower-casing, punctuation splits, greedy WordPiece.

    Callable like every tokenizer (``wp("Hello, World!") -> ["hello", ",", "world", "!"]``);
    ``encode`` gives model inputs with ``[CLS]``/``[SEP]``, truncation, padding and a mask.

    Args:
        vocab_file: a BERT ``vocab.txt``; ``None`` = the offline bert-base-uncased vocabulary.
        lowercase: lower-case and strip accents before splitting, as bert-base-uncased
            does (``False`` keeps both, for a cased vocabulary).
        tokenizer_json: a serialized ``tokenizers`` pipeline (what ``train`` produces and
            ``config`` stores); overrides ``vocab_file``.

    >>> wp = WordPieceTokenizer()
    >>> wp("Tokenization!")
    ['token', '##ization', '!']
    """

    name = "wordpiece"

    def __init__(self, vocab_file: str | Path | None = None, lowercase: bool = True,
                 tokenizer_json: str | None = None):
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import models

        self.vocab_file = None if vocab_file is None else str(vocab_file)
        self.lowercase = bool(lowercase)
        self._json = tokenizer_json
        if tokenizer_json is not None:
            try:
                self._tk = HFTokenizer.from_str(tokenizer_json)
            except Exception as e:  # the Rust side raises plain Exception
                raise DlcourseError(f"not a valid tokenizers JSON pipeline: {e}") from None
        else:
            path = default_vocab_file() if vocab_file is None else Path(vocab_file)
            vocab = _read_vocab_txt(path)
            model = models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100)
            self._tk = _bert_pipeline(HFTokenizer(model), self.lowercase)

    # -- Tokenizer interface -------------------------------------------------------------
    def __call__(self, text: str) -> list[str]:
        return self._tk.encode(text, add_special_tokens=False).tokens

    def batch(self, texts: Iterable[str]) -> list[list[str]]:
        """Tokenize many texts in one ``tokenizers`` call; see :meth:`Tokenizer.batch`.

        Args:
            texts: an iterable of strings (not one string); no special tokens are added.
        """
        return [e.tokens for e in self._tk.encode_batch(list(texts), add_special_tokens=False)]

    @property
    def config(self) -> dict[str, Any]:
        if self._json is not None:
            return {"name": self.name, "tokenizer_json": self._json}
        return {"name": self.name, "vocab_file": self.vocab_file, "lowercase": self.lowercase}

    # -- ids ------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of tokens in the vocabulary (30,522 for bert-base-uncased)."""
        return self._tk.get_vocab_size()

    def token_to_id(self, token: str) -> int | None:
        """Id of ``token``, or None when it is not in the vocabulary.

        Args:
            token: one vocabulary entry, e.g. ``"[CLS]"`` or ``"##ing"`` (not normalized).
        """
        return self._tk.token_to_id(token)

    @property
    def pad_id(self) -> int:
        """Id of ``[PAD]`` (0 in bert-base-uncased)."""
        return self._special_id("[PAD]")

    @property
    def cls_id(self) -> int:
        return self._special_id("[CLS]")

    @property
    def sep_id(self) -> int:
        return self._special_id("[SEP]")

    @property
    def unk_id(self) -> int:
        return self._special_id("[UNK]")

    def _special_id(self, token: str) -> int:
        i = self._tk.token_to_id(token)
        if i is None:
            raise DlcourseError(f"this WordPiece vocabulary has no {token} token")
        return i

    def encode_ids(self, texts: str | Iterable[str], max_length: int | None = None,
                   add_special_tokens: bool = True) -> list[list[int]]:
        """Ids of each text, unpadded (plain lists: no torch needed).

        Args:
            texts: one text or an iterable of texts.
            max_length: truncate each sequence to this many ids, ``[CLS]``/``[SEP]`` included
                (the ``[SEP]`` is kept at the end of a truncated sequence); None keeps all.
            add_special_tokens: add ``[CLS]`` at the start and ``[SEP]`` at the end.

        >>> WordPieceTokenizer().encode_ids(["Hi!"])
        [[101, 7632, 999, 102]]
        """
        texts = [texts] if isinstance(texts, str) else check_texts(texts, "encode_ids")
        if max_length is not None and max_length < (3 if add_special_tokens else 1):
            raise InputError(f"max_length={max_length} leaves no room for a token; use >= 3 "
                             "with special tokens")
        seqs = []
        for e in self._tk.encode_batch(texts, add_special_tokens=add_special_tokens):
            ids = e.ids
            if max_length is not None and len(ids) > max_length:
                ids = ids[: max_length - 1] + [ids[-1]] if add_special_tokens else ids[:max_length]
            seqs.append(ids)
        return seqs

    def encode(self, texts: str | Iterable[str], max_length: int = 128,
               add_special_tokens: bool = True) -> dict:
        """Encode texts to padded model inputs.

        Args:
            texts: one text or an iterable of texts.
            max_length: truncate each sequence to this many ids, as in :meth:`encode_ids`.
            add_special_tokens: add ``[CLS]`` at the start and ``[SEP]`` at the end.

        Returns:
            ``{"input_ids": LongTensor (B, T), "attention_mask": LongTensor (B, T)}`` with
            T = the longest sequence after truncation, padded on the right with ``pad_id``;
            the mask is 1 on real tokens and 0 on padding.
        """
        from dlcourse.text.batching import lengths_to_mask, pad_sequences

        seqs = self.encode_ids(texts, max_length, add_special_tokens)
        input_ids, lengths = pad_sequences(seqs, pad_id=self.pad_id)  # (B, T), (B,)
        mask = lengths_to_mask(lengths, input_ids.shape[1]).long()  # (B, T)
        return {"input_ids": input_ids, "attention_mask": mask}

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        """Ids (a list or 1-D tensor) back to text, joining ``##`` pieces.

        Args:
            ids: token ids of one sequence, (T,).
            skip_special_tokens: leave out ``[CLS]``, ``[SEP]``, ``[PAD]`` and the other
                registered specials.
        """
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        return self._tk.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def to_vocab(self):
        """The subword vocabulary as a :class:`~dlcourse.text.Vocab` (ids unchanged)."""
        from dlcourse.text.vocab import Vocab

        itos = [t for t, _ in sorted(self._tk.get_vocab().items(), key=lambda kv: kv[1])]
        return Vocab(itos, unk_token="[UNK]", pad_token="[PAD]")

    # -- persistence and training ----------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the whole pipeline as a ``tokenizers`` JSON file (atomically).

        Args:
            path: the JSON file; missing parent folders are created.

        Returns:
            the path written.
        """
        from dlcourse.engine import atomic_write

        with atomic_write(path, "w") as f:
            f.write(self._tk.to_str())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> WordPieceTokenizer:
        """Read a file written by :meth:`save` (or any ``tokenizers`` JSON file).

        Args:
            path: the JSON file.

        Raises:
            DlcourseError: the file is missing or a directory, not UTF-8 JSON, or not a
                ``tokenizers`` pipeline.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            json.loads(text)
        except FileNotFoundError:
            raise DlcourseError(f"tokenizer file {path} not found") from None
        except IsADirectoryError:
            raise DlcourseError(f"tokenizer file {path} is a directory; give the JSON file "
                                "written by WordPieceTokenizer.save") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DlcourseError(f"{path}: not a tokenizers JSON file ({e})") from None
        return cls(tokenizer_json=text)

    @classmethod
    def train(cls, corpus: Iterable[str], vocab_size: int = 8000, model: str = "wordpiece",
              min_frequency: int = 2, lowercase: bool = True,
              special_tokens: Iterable[str] = BERT_SPECIALS) -> WordPieceTokenizer:
        """Learn a new subword vocabulary from raw texts.

        Args:
            corpus: an iterable of texts (streamed; a file object works).
            vocab_size: target vocabulary size, special tokens included.
            model: ``"wordpiece"`` (BERT) or ``"bpe"`` (byte-pair merges; continuation pieces
                get the same ``##`` prefix so decoding is shared).
            min_frequency: a merge needs at least this many occurrences.
            lowercase: lower-case before learning, as bert-base-uncased.
            special_tokens: given the first ids, in order (``[PAD]`` = 0).

        Returns:
            A new tokenizer whose ``config`` embeds the learned pipeline.
        """
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import models, normalizers, pre_tokenizers, trainers

        check_choice("subword model", model, _MODELS)
        specials = list(special_tokens)
        if "[UNK]" not in specials:
            raise InputError("special_tokens must include '[UNK]'")
        if vocab_size <= len(specials):
            raise InputError(f"vocab_size={vocab_size} must exceed the {len(specials)} specials")
        common = dict(vocab_size=vocab_size, min_frequency=min_frequency,
                      special_tokens=specials, show_progress=False)
        if model == "wordpiece":
            tk = HFTokenizer(models.WordPiece(unk_token="[UNK]"))
            trainer = trainers.WordPieceTrainer(continuing_subword_prefix="##", **common)
        else:
            tk = HFTokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##"))
            trainer = trainers.BpeTrainer(continuing_subword_prefix="##", **common)
        # the trainer must see text normalized and pre-split the way encoding will see it
        tk.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=None)
        tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tk.train_from_iterator(iter(corpus), trainer=trainer)
        _bert_pipeline(tk, lowercase)
        log.info("trained a %s vocabulary of %d tokens", model, tk.get_vocab_size())
        return cls(tokenizer_json=tk.to_str(), lowercase=lowercase)
