"""Vocabulary: token <-> id maps built by streaming token lists, with specials and JSON I/O."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dlcourse.engine.config import whole_number
from dlcourse.errors import InputError, MissingFileError, UnknownTokenError
from dlcourse.text.labels import as_id

__all__ = ["Vocab", "UnknownTokenError"]

log = logging.getLogger(__name__)


_DEFAULT_ROLES = {"unk_token": "<unk>", "pad_token": "<pad>"}


def _role(role: str, token: str | None, known, where: str) -> str | None:
    """The token for a role, None when the role's default token is absent; else an error."""
    if token is None or token in known:
        return token
    if token == _DEFAULT_ROLES[role]:
        return None
    raise InputError(f"{role} {token!r} is not {where}; add it there or pass {role}=None")


class _TokenIds(dict):
    """``stoi``: token -> id, an unknown token's id the unknown id where there is one (the
    defaultdict of torchtext's legacy ``vocab.stoi[t]``); ``get`` and ``in`` are a dict's."""

    default: int | None = None

    def __missing__(self, token):
        if self.default is None:
            raise KeyError(token)
        return self.default


def specials_list(specials) -> list[str]:
    """``specials`` without repeats; one string is refused (its characters became tokens)."""
    if isinstance(specials, str):
        raise InputError(f"specials must be a list of tokens, got the string {specials!r}; "
                         f"write specials=[{specials!r}]")
    return list(dict.fromkeys(specials))


def _check_tokens(tokens: Iterable, where: str) -> None:
    """Refuse a token that is not a string (None, a number, a tensor): it would take an id
    that no text can ever look up."""
    bad = next((t for t in tokens if not isinstance(t, str)), _NONE)
    if bad is not _NONE:
        raise InputError(f"tokens must be strings, found {type(bad).__name__} {bad!r} in "
                         f"{where}; tokenize the texts first (get_tokenizer(...).stream(texts))")


_NONE = object()


class Vocab:
    """An ordered token list (``itos``) with its inverse (``stoi``) and corpus counts (``freqs``).

    Build one from tokenized text with :meth:`Vocab.build`; ``vocab["word"]`` gives the id (the
    unknown id for out-of-vocabulary words), ``vocab.lookup(tokens)`` a list of ids.

    Args:
        itos: the tokens, id order; must be unique.
        freqs: corpus count per token (aligned with ``itos``); zeros when not given.
        unk_token: the token unknown words map to, or None for none; the default ``"<unk>"``
            means none when it is not in ``itos``, another name must be there.
        pad_token: the padding token, or None; ``pad_id`` is its id (same default rule).

    >>> v = Vocab.build([["a", "b", "a"], ["c", "a"]])
    >>> v.itos, v["a"], v["zzz"] == v.unk_id
    (['<pad>', '<unk>', 'a', 'b', 'c'], 2, True)
    """

    def __init__(self, itos: Sequence[str], freqs: Sequence[int] | None = None,
                 unk_token: str | None = "<unk>", pad_token: str | None = "<pad>"):
        if isinstance(itos, str) or not hasattr(itos, "__iter__"):
            got = "one string" if isinstance(itos, str) else type(itos).__name__
            raise InputError(f"itos must be a list of tokens, got {got}; pass a list, or build "
                             "one from token lists: Vocab.build(token_lists)")
        self.itos = list(itos)
        _check_tokens(self.itos, "itos")
        self.stoi = _TokenIds((t, i) for i, t in enumerate(self.itos))
        if len(self.stoi) != len(self.itos):
            dup = Counter(self.itos).most_common(1)[0][0]
            raise InputError(f"vocabulary tokens must be unique; {dup!r} appears more than once")
        self.freqs = [0] * len(self.itos) if freqs is None else [int(f) for f in freqs]
        if len(self.freqs) != len(self.itos):
            raise InputError(f"freqs has {len(self.freqs)} counts for {len(self.itos)} tokens")
        self.unk_token = _role("unk_token", unk_token, self.stoi, "in the vocabulary")
        self.pad_token = _role("pad_token", pad_token, self.stoi, "in the vocabulary")

    # Each role is one stored token; its id is read from ``stoi``, so assigning either name
    # (``vocab.unk_id = 0`` or ``vocab.unk_token = "<unk>"``) keeps the two and ``stoi[t]``'s
    # default in step.
    @property
    def unk_token(self) -> str | None:
        """The token unknown tokens map to, or None when there is none."""
        return self._unk_token

    @unk_token.setter
    def unk_token(self, token: str | None) -> None:
        if token is not None and token not in self.stoi:
            raise InputError(f"unk_token {token!r} is not in the vocabulary")
        self._unk_token = token
        self.stoi.default = None if token is None else self.stoi[token]

    @property
    def unk_id(self) -> int | None:
        """Id unknown tokens map to, or None when the vocabulary has no unknown token."""
        return self.stoi.default

    @unk_id.setter
    def unk_id(self, index: int | None) -> None:
        self.set_default_index(index)

    @property
    def pad_token(self) -> str | None:
        """The padding token, or None."""
        return self._pad_token

    @pad_token.setter
    def pad_token(self, token: str | None) -> None:
        if token is not None and token not in self.stoi:
            raise InputError(f"pad_token {token!r} is not in the vocabulary")
        self._pad_token = token

    @property
    def pad_id(self) -> int | None:
        """Id of the padding token, or None."""
        return None if self._pad_token is None else self.stoi[self._pad_token]

    @pad_id.setter
    def pad_id(self, index: int | None) -> None:
        self.pad_token = None if index is None else self.lookup_token(index)

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], max_size: int | None = None,
              min_freq: int = 1, specials: Sequence[str] = ("<pad>", "<unk>"),
              unk_token: str | None = "<unk>", pad_token: str | None = "<pad>") -> Vocab:
        """Count tokens over a stream of token lists and keep the frequent ones.

        Order: ``specials`` first (in the given order), then tokens by frequency, highest first,
        ties in order of first occurrence (torchtext broke them alphabetically; the lessons'
        trained figures rest on this order, so it stays). Only the counts are held in memory, so
        ``Vocab.build(tok.stream(open("big.txt")))`` works on any corpus size.

        Args:
            token_lists: iterable of token lists (one per sentence/document).
            max_size: keep at most this many non-special tokens (None = all).
            min_freq: drop tokens seen fewer times.
            specials: tokens put first, e.g. ``("<pad>", "<unk>", "<bos>", "<eos>")``; a special
                also found in the corpus stays at its special position.
            unk_token / pad_token: which specials play those roles (None = none). The defaults
                ``"<unk>"``/``"<pad>"`` simply mean none when absent from ``specials``
                (``specials=()`` gives a plain vocabulary); other names must be in ``specials``.

        Raises:
            ValueError: bad ``max_size``/``min_freq``, a role token not in specials, or a plain
                string where a token list was expected.
        """
        if max_size is not None:
            max_size = whole_number("max_size", max_size, 0, None, "a whole number >= 0 or None")
        min_freq = whole_number("min_freq", min_freq, 1, None, "a whole number >= 1")
        specials = specials_list(specials)
        unk_token = _role("unk_token", unk_token, specials, f"among specials {specials}")
        pad_token = _role("pad_token", pad_token, specials, f"among specials {specials}")
        if isinstance(token_lists, str) or not hasattr(token_lists, "__iter__"):
            raise InputError(f"Vocab.build takes an iterable of token lists, got "
                             f"{type(token_lists).__name__}")
        counter: Counter[str] = Counter()
        n_lists = 0
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise InputError("Vocab.build expects token lists, got a string; tokenize "
                                 "first: Vocab.build(tok.stream(texts))")
            counter.update(tokens)  # C-level counting; dict order = first occurrence
            n_lists += 1
        _check_tokens(counter, "the token lists")
        special_set = set(specials)
        # sorted() is stable, so equal counts keep first-occurrence order
        ranked = sorted(
            ((t, c) for t, c in counter.items() if c >= min_freq and t not in special_set),
            key=lambda tc: -tc[1],
        )
        if max_size is not None:
            ranked = ranked[:max_size]
        itos = specials + [t for t, _ in ranked]
        freqs = [0] * len(specials) + [c for _, c in ranked]
        if ranked:  # an empty vocabulary is its caller's error to report, in one line
            log.info("vocabulary: %d token lists, %d tokens, %d types, kept %d (+%d specials)",
                     n_lists, sum(counter.values()), len(counter), len(ranked), len(specials))
        return cls(itos, freqs, unk_token=unk_token, pad_token=pad_token)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        if not isinstance(token, str):  # an id or None read as an unknown token: unk_id
            raise InputError(f"vocab[...] takes a token (a string), got {type(token).__name__} "
                             f"{token!r}; for the token of an id use vocab.lookup_token(id)")
        i = self.stoi.get(token, self.unk_id)
        if i is None:
            fix = ("call vocab.set_default_index(vocab['<unk>'])" if "<unk>" in self.stoi else
                   "build it with '<unk>' among its specials and set_default_index(vocab"
                   "['<unk>']) (Vocab.build does both by default), or test `token in vocab` "
                   "first")
            raise UnknownTokenError(f"token {token!r} is not in the vocabulary and it has no "
                                    f"unknown token; {fix}")
        return i

    def __iter__(self):
        return iter(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        head = ", ".join(self.itos[:6])
        return f"Vocab(size={len(self)}, [{head}{', ...' if len(self) > 6 else ''}])"

    def lookup(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens`` (unknown ones -> ``unk_id``).

        Args:
            tokens: a token list (or any iterable of strings).

        Raises:
            UnknownTokenError: a token not in the vocabulary when it has no unknown token.
        """
        if isinstance(tokens, str):  # its characters would be looked up, each unknown
            raise InputError(f"lookup takes a list of tokens, got the string {tokens[:40]!r}; "
                             "tokenize it first, or use vocab[token] for one token")
        get, unk = self.stoi.get, self.unk_id
        if unk is None:
            return [self[t] for t in tokens]
        return [get(t, unk) for t in tokens]

    def lookup_tokens(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids`` (a list, a 1-D array or tensor, of ints, numpy ints or tensors).

        Args:
            ids: ids in ``0..len(vocab)-1``.

        Raises:
            InputError: an id that is not an integer (its type is named) or is out of range.
        """
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        n, itos = len(self), self.itos
        bounds = f"out of range for a vocabulary of {n}"
        return [itos[as_id(i, n, "id", bounds)] for i in ids]

    # torchtext's Vocab interface, so that code written for it (the PyTorch tutorials) runs
    def __call__(self, tokens: Iterable[str]) -> list[int]:
        """``vocab(tokens)``: :meth:`lookup` (torchtext's call) of a list of tokens."""
        return self.lookup_indices(tokens)

    def lookup_indices(self, tokens: Iterable[str]) -> list[int]:
        """torchtext's name of :meth:`lookup`; a string (not a token list) is refused, as
        torchtext does, rather than read as its characters.

        Args:
            tokens: see :meth:`lookup`.
        """
        if isinstance(tokens, str):
            raise InputError(f"expected a list of tokens, got the string {tokens[:40]!r}; "
                             "tokenize it first (vocab(tokenizer(text))), or use vocab[token] "
                             "for one token")
        return self.lookup(tokens)

    def lookup_token(self, index: int) -> str:
        """The token of one id (torchtext's name).

        Args:
            index: an id in ``0..len(vocab)-1``; see :meth:`lookup_tokens`.
        """
        return self.lookup_tokens([index])[0]

    def get_itos(self) -> list[str]:
        """A copy of :attr:`itos` (torchtext's name)."""
        return list(self.itos)

    def get_stoi(self) -> dict[str, int]:
        """A copy of :attr:`stoi` (torchtext's name)."""
        return dict(self.stoi)

    def set_default_index(self, index: int | None) -> None:
        """Map unknown tokens to ``index`` (its token becomes :attr:`unk_token`), or raise
        :class:`UnknownTokenError` for them with None: torchtext's way to name the unknown
        token, e.g. ``vocab.set_default_index(vocab["<unk>"])``.

        Args:
            index: an id in ``0..len(vocab)-1``, or None for no unknown token.

        Raises:
            InputError: ``index`` is not an integer or is out of range.
        """
        self.unk_token = None if index is None else self.lookup_token(index)

    def get_default_index(self) -> int | None:
        """:attr:`unk_id` (torchtext's name)."""
        return self.unk_id

    def coverage(self, token_lists: Iterable[Sequence[str]]) -> float:
        """Fraction of running tokens in ``token_lists`` that are in the vocabulary (0..1).

        Args:
            token_lists: an iterable of token lists (sized: ``len`` is taken); 0.0 when empty.
        """
        seen = known = 0
        stoi = self.stoi
        for tokens in token_lists:
            seen += len(tokens)
            known += sum(1 for t in tokens if t in stoi)
        return known / seen if seen else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-typed form for checkpoints and JSON; :meth:`from_dict` inverts it."""
        return {"itos": list(self.itos), "freqs": list(self.freqs),
                "unk_token": self.unk_token, "pad_token": self.pad_token}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vocab:
        """Rebuild from :meth:`to_dict` output (or a bare ``itos`` list).

        Args:
            d: ``{"itos": [...], "freqs": ..., "unk_token": ..., "pad_token": ...}`` (only
                ``itos`` required; absent roles take the defaults ``"<unk>"``/``"<pad>"``), or
                a token list.

        Raises:
            InputError: no ``itos`` list, or tokens or roles :class:`Vocab` refuses.
        """
        if isinstance(d, list):
            return cls(d)
        if not isinstance(d, dict) or not isinstance(d.get("itos"), list):  # "abc" read as 3
            raise InputError("a vocabulary dict needs an 'itos' token list (see "
                             "Vocab.to_dict)")
        # roles left out mean the default tokens where present, as for a bare list
        return cls(d["itos"], d.get("freqs"), unk_token=d.get("unk_token", _DEFAULT_ROLES[
            "unk_token"]), pad_token=d.get("pad_token", _DEFAULT_ROLES["pad_token"]))

    def save(self, path: str | Path) -> Path:
        """Write the vocabulary as JSON (atomically); returns the path.

        Args:
            path: the JSON file; missing parent folders are created.
        """
        from dlcourse.engine import atomic_write

        with atomic_write(path, "w") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a vocabulary written by :meth:`save`.

        Args:
            path: the JSON file (or one holding a bare token list).

        Raises:
            MissingFileError: ``path`` is not there or is a folder.
            InputError: the file is not a vocabulary JSON file.
        """
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MissingFileError(f"vocabulary file {path} not found") from None
        except IsADirectoryError:
            raise MissingFileError(f"vocabulary file {path} is a directory; give the JSON file "
                                   "written by Vocab.save") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{path}: not a vocabulary JSON file ({e}); write one with "
                             "Vocab.save or 'dlcourse text vocab --out'") from None
        try:
            return cls.from_dict(d)
        except ValueError as e:
            raise InputError(f"{path}: {e}") from None

