"""torchtext's ``build_vocab_from_iterator``: its arguments, order and unknown-token rule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dlcourse.errors import InputError
from dlcourse.text.vocab import Vocab, specials_list

__all__ = ["build_vocab_from_iterator"]


def build_vocab_from_iterator(iterator: Iterable[Sequence[str]], min_freq: int = 1,
                              specials: Sequence[str] | None = None, special_first: bool = True,
                              max_tokens: int | None = None) -> Vocab:
    """torchtext's ``build_vocab_from_iterator``, with its arguments and result: a
    :class:`Vocab` of the tokens seen ``min_freq`` times, most frequent first, with ``specials``
    first (or last); ``max_tokens`` counts the specials too. As in torchtext no token is the
    unknown one until ``vocab.set_default_index(vocab["<unk>"])`` (until then an unknown token
    raises); :meth:`Vocab.build` is the one-call form with ``<pad>`` and ``<unk>``.

    Args:
        iterator: an iterable of token lists, read once.
        min_freq: drop tokens seen fewer times (>= 1).
        specials: tokens added at one end in this order (duplicates dropped); None for none.
        special_first: put ``specials`` first (True) or last.
        max_tokens: the most tokens in all, specials included; None for no limit.

    Raises:
        ValueError: ``max_tokens`` not above the number of specials, or a bad ``min_freq``.

    Example:
        >>> vocab = build_vocab_from_iterator([["a", "b", "a"]], specials=["<unk>"])
        >>> vocab.set_default_index(vocab["<unk>"])
        >>> vocab(["a", "zzz"]), vocab.get_itos()
        ([1, 0], ['<unk>', 'a', 'b'])
    """
    specials = specials_list(specials or ())
    if max_tokens is not None and max_tokens <= len(specials):
        raise InputError(f"max_tokens {max_tokens} leaves no room beside the {len(specials)} "
                         "specials; give a larger number")
    plain = Vocab.build(iterator, min_freq=min_freq, specials=(), unk_token=None,
                        pad_token=None)
    freqs = dict(zip(plain.itos, plain.freqs, strict=True))
    # torchtext's order: by count, highest first, ties in alphabetical order; max_tokens cuts
    # that list before the specials leave it (a special seen in the text takes a place)
    ranked = sorted(plain.itos, key=lambda t: (-freqs[t], t))
    if max_tokens is not None:
        ranked = ranked[:max_tokens - len(specials)]
    words = [t for t in ranked if t not in set(specials)]
    itos = specials + words if special_first else words + specials
    # no unknown token until set_default_index, as in torchtext; a "<pad>" special pads
    return Vocab(itos, [freqs.get(t, 0) for t in itos], unk_token=None,
                 pad_token="<pad>" if "<pad>" in specials else None)
