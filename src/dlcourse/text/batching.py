"""Tensors from id sequences: one-hot, padding and masks, a DataLoader collate, length-bucketed
batches (what torchtext's BucketIterator did) and packed sequences for RNNs."""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Iterator, Sequence

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence
from torch.utils.data import Sampler

from dlcourse.engine.config import whole_number
from dlcourse.errors import InputError, check_choice

__all__ = [
    "one_hot",
    "pad_sequences",
    "lengths_to_mask",
    "PadCollate",
    "BucketBatchSampler",
    "pack_padded",
    "padding_fraction",
]

_SIDES = ("right", "left")


def _integer_ids(ids, what: str = "pad_sequences") -> torch.Tensor:
    """``ids`` as a long tensor; floats are refused (1.5 was silently read as id 1), and so
    are tokens (strings), ragged lists and ids past int64, with our words (naming ``what``,
    the function called), not torch's."""
    try:
        t = torch.as_tensor(ids)
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        token = next((i for i in ids if isinstance(i, str)), None)  # only once it failed
        ours = what == "pad_sequences"
        if token is not None:
            raise InputError(f"{what} takes {'id sequences' if ours else 'token ids'}, got the "
                             f"token {token!r}; map tokens to ids first (vocab.lookup(tokens))"
                             ) from None
        how = ("token ids must be whole numbers that fit int64, one list of them a sequence"
               if ours else f"{what} takes whole-number ids that fit int64, in one rectangular "
               "shape (pad rows of several lengths first)")
        raise InputError(f"{how} ({' '.join(str(exc).split())})") from None
    if t.numel() and (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool):
        raise InputError(f"token ids must be integers, got {t.dtype}")
    return t.long()


def one_hot(ids, num_classes: int, sparse: bool = False) -> torch.Tensor:
    """One-hot rows for ids: the vocabulary is the column axis.

    Args:
        ids: ints (a list, or a tensor of any shape).
        num_classes: the vocabulary size V.
        sparse: return a sparse COO tensor (1-D ids only), which stores N values instead of N*V.

    Returns:
        float tensor ``(*ids.shape, V)``; row i has a single 1 at column ``ids[i]``.

    >>> one_hot([0, 1, 2], 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    ids = _integer_ids(ids, "one_hot")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        try:  # a numpy integer is one
            num_classes = operator.index(num_classes)
        except TypeError:
            raise InputError(f"num_classes must be a whole number (the vocabulary size), got "
                             f"{num_classes!r}") from None
    if num_classes < 1:
        raise InputError(f"num_classes must be >= 1, got {num_classes}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= num_classes):
        bad = ids[(ids < 0) | (ids >= num_classes)][0].item()
        raise InputError(f"id {bad} is outside 0..{num_classes - 1}; num_classes must be the "
                         "vocabulary size")
    if sparse:
        if ids.dim() != 1:
            raise InputError(f"sparse one_hot takes 1-D ids, got shape {tuple(ids.shape)}")
        n = ids.numel()
        indices = torch.stack([torch.arange(n), ids])  # (2, N): row, column of each 1
        # one entry per row, rows in order: already coalesced
        return torch.sparse_coo_tensor(indices, torch.ones(n), (n, num_classes),
                                       is_coalesced=True, check_invariants=True)
    return torch.nn.functional.one_hot(ids, num_classes).float()  # (*ids.shape, V)


def _as_list(seq) -> list[int]:
    if isinstance(seq, torch.Tensor):
        if seq.dim() != 1:
            raise InputError(f"each sequence must be 1-D, got shape {tuple(seq.shape)}")
        return seq.tolist()
    if isinstance(seq, str):
        raise InputError("pad_sequences takes id sequences, got a string; map tokens to ids "
                         "first (vocab.lookup(tokens))")
    if not hasattr(seq, "__iter__"):
        raise InputError(f"pad_sequences takes a list of id sequences, got {seq!r} where a "
                         "sequence goes")
    return list(seq)


class _DefaultPad(int):
    """0, the default pad id, as an object of its own: ``pad_id is _DEFAULT_PAD`` tells a
    pad_id left out from one given as 0, so that giving it and ``padding_value`` is refused."""


_DEFAULT_PAD = _DefaultPad(0)


def _pad_value(pad_id, padding_value) -> int:
    """The padding id from ``pad_id`` or its torch name ``padding_value``, as an int."""
    name = "pad_id"
    if padding_value is not None:
        if pad_id is not _DEFAULT_PAD:
            raise InputError(f"pad_id={pad_id!r} and padding_value={padding_value!r} both set the "
                             "padding id; pass one (padding_value is torch's name for pad_id)")
        pad_id, name = padding_value, "padding_value"
    if isinstance(pad_id, float) and pad_id.is_integer():  # torch's default is 0.0
        return int(pad_id)
    try:
        return operator.index(pad_id)  # int, numpy int, one-element integer tensor
    except TypeError:
        raise InputError(f"{name} must be an integer id, got {type(pad_id).__name__} {pad_id!r}; "
                         "pass the vocabulary's (vocab.pad_id, from a '<pad>' special)") from None


def pad_sequences(seqs: Sequence, pad_id: int = _DEFAULT_PAD, batch_first: bool = True,
                  side: str = "right", max_len: int | None = None, *,
                  padding_value: int | None = None, fixed_len: int | None = None):
    """Pad id sequences of different lengths into one tensor.

    Like torch's ``pad_sequence``, but it takes lists too, defaults to ``(B, T)`` and returns
    the lengths as well.

    Args:
        seqs: lists of ints or 1-D tensors.
        pad_id: the id written into padding positions.
        batch_first: ``(B, T)`` when True, ``(T, B)`` when False.
        side: ``"right"`` pads after the tokens, ``"left"`` before them (for models that read
            the last position).
        max_len: truncate longer sequences to their first ``max_len`` ids.
        padding_value: torch's name for ``pad_id``; give one of the two.
        fixed_len: pad (and truncate) every sequence to exactly this many ids, as torchtext's
            ``Field(fix_length=...)`` and Keras's ``pad_sequences(maxlen=...)`` do.

    Returns:
        ``(padded, lengths)``: LongTensor ``(B, T)`` (or ``(T, B)``) with T = ``fixed_len`` or
        the longest (truncated) length, on the device of tensor inputs (CPU for lists), and a CPU
        LongTensor ``(B,)`` of true lengths (what ``pack_padded`` wants).

    Raises:
        InputError: both ``pad_id`` and ``padding_value`` given, or a padding id that is not an
            integer (None: the vocabulary has no padding token); a bad ``side`` or ``max_len``.

    >>> padded, lengths = pad_sequences([[5, 6, 7], [8]], pad_id=0)
    >>> padded.tolist(), lengths.tolist()
    ([[5, 6, 7], [8, 0, 0]], [3, 1])
    """
    pad_id = _pad_value(pad_id, padding_value)
    check_choice("padding side", side, _SIDES)
    if max_len is not None and max_len < 1:
        raise InputError(f"max_len must be >= 1 or None, got {max_len}")
    if fixed_len is not None:
        fixed_len = whole_number("fixed_len", fixed_len, 1, None, "a whole number >= 1 or None")
        max_len = fixed_len if max_len is None else min(max_len, fixed_len)
    if seqs is None or isinstance(seqs, str) or not hasattr(seqs, "__iter__"):
        raise InputError(f"pad_sequences takes a list of id sequences, got "
                         f"{type(seqs).__name__}")
    seqs = list(seqs)
    if seqs and all(isinstance(s, torch.Tensor) for s in seqs):
        if any(s.dim() != 1 for s in seqs):
            raise InputError("each sequence must be 1-D, got shapes "
                             f"{sorted({tuple(s.shape) for s in seqs})}")
        rows = [s[:max_len] if max_len is not None else s for s in seqs]
        flat = _integer_ids(torch.cat(rows)) if rows else torch.empty(0, dtype=torch.long)
    else:
        rows = [_as_list(s) for s in seqs]
        if max_len is not None:
            rows = [r[:max_len] for r in rows]
        flat = _integer_ids([i for r in rows for i in r])
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)  # (B,)
    t = fixed_len if fixed_len is not None else int(lengths.max()) if rows else 0
    padded = torch.full((len(rows), t), pad_id, dtype=torch.long, device=flat.device)  # (B, T)
    if t:
        # one masked write instead of B slice writes: the mask's True cells, read row-major,
        # are exactly the positions of the concatenated sequences
        mask = lengths_to_mask(lengths.to(flat.device), t, side=side)  # (B, T)
        padded[mask] = flat
    if not batch_first:
        padded = padded.t().contiguous()  # (T, B)
    return padded, lengths


def lengths_to_mask(lengths, max_len: int | None = None, side: str = "right") -> torch.Tensor:
    """Boolean mask ``(B, T)``: True on real tokens, False on padding.

    Args:
        lengths: true lengths ``(B,)`` (a tensor or list of ints); the mask is on its device.
        max_len: T; None for the longest length (0 for no lengths).
        side: ``"right"`` when padding follows the tokens, ``"left"`` when it precedes them.

    >>> lengths_to_mask(torch.tensor([2, 1]), 3).tolist()
    [[True, True, False], [True, False, False]]
    """
    check_choice("padding side", side, _SIDES)
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    t = int(lengths.max()) if max_len is None and lengths.numel() else (max_len or 0)
    pos = torch.arange(t, device=lengths.device)  # (T,)
    if side == "right":
        return pos[None, :] < lengths[:, None]  # (B, T)
    return pos[None, :] >= (t - lengths)[:, None]  # (B, T)


class PadCollate:
    """``collate_fn`` for a DataLoader over id sequences.

    Items ``(ids, label)`` give ``(padded, lengths, labels)``; bare id sequences give
    ``(padded, lengths)``. Labels become a tensor (long for ints, float for floats).

    Args:
        pad_id: the id written into padding positions (the vocabulary's ``pad_id``).
        batch_first: ``(B, T)`` batches when True, ``(T, B)`` when False.
        side: ``"right"`` or ``"left"`` padding, as in :func:`pad_sequences`.
        max_len: truncate longer sequences to their first ``max_len`` ids; None keeps all.
        fixed_len: pad (and truncate) every batch to this many ids, as torchtext's
            ``Field(fix_length=...)``; None pads to the batch's longest.

    >>> PadCollate(pad_id=0)([([4, 5], 1), ([6], 0)])[0].tolist()
    [[4, 5], [6, 0]]
    """

    def __init__(self, pad_id: int = 0, batch_first: bool = True, side: str = "right",
                 max_len: int | None = None, fixed_len: int | None = None):
        check_choice("padding side", side, _SIDES)
        self.pad_id = pad_id
        self.batch_first = batch_first
        self.side = side
        self.max_len = max_len
        self.fixed_len = fixed_len

    def __call__(self, items: Sequence):
        if not items:
            raise InputError("PadCollate got an empty batch")
        first = items[0]
        if isinstance(first, tuple | list) and len(first) == 2 and isinstance(first[0], int) \
                and isinstance(first[1], Sequence | torch.Tensor) and not isinstance(first[1], str):
            raise InputError("PadCollate takes (ids, label) items; these look like (label, ids), "
                             "as torchtext's datasets yield them: swap each pair first")
        # (ids, label) or [ids, label]; a pair of bare ids such as (4, 5) is a sequence
        labelled = isinstance(first, tuple | list) and len(first) == 2 and \
            not isinstance(first[0], int) and getattr(first[0], "ndim", 1) != 0
        seqs = [it[0] for it in items] if labelled else list(items)
        padded, lengths = pad_sequences(seqs, self.pad_id, self.batch_first, self.side,
                                        self.max_len, fixed_len=self.fixed_len)
        if not labelled:
            return padded, lengths
        labels = [it[1] for it in items]
        if isinstance(labels[0], torch.Tensor):
            return padded, lengths, torch.stack(labels)
        if isinstance(labels[0], str):
            raise InputError(f"label {labels[0]!r} is a string; encode labels to ids first "
                             "(LabelEncoder().fit(labels).transform(labels))")
        return padded, lengths, torch.tensor(labels)  # (B,)


class BucketBatchSampler(Sampler):
    """Batches of indices whose sequences have similar lengths, so little padding is needed.

    Like torchtext's BucketIterator: take a random pool of ``bucket_size`` examples, sort it by
    length, cut it into batches, and finally shuffle all batches so consecutive batches are not
    ordered by length. ``shuffle=False`` sorts the whole data set once (evaluation).

    Args:
        lengths: sequence length of every example.
        batch_size: examples per batch.
        shuffle: randomise pools and batch order: a new order each pass over the data (epoch
            e, counted from 0 or given by :meth:`set_epoch`, uses ``seed + e``).
        seed: base seed, so runs repeat exactly.
        drop_last: drop each pool's last short batch.
        bucket_size: pool size; default ``batch_size * 100``.

    Use as ``DataLoader(ds, batch_sampler=BucketBatchSampler(lengths, 32), collate_fn=...)``.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False, bucket_size: int | None = None):
        batch_size = whole_number("batch_size", batch_size, 1, None, "a whole number >= 1")
        try:
            self.lengths = [operator.index(n) for n in (lengths.tolist() if hasattr(
                lengths, "tolist") else lengths)]
        except TypeError:  # the data set itself, say, where its lengths go
            raise InputError("lengths must be the length of every example, whole numbers "
                             "([len(ids) for ids, _ in data])") from None
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.bucket_size = batch_size * 100 if bucket_size is None else bucket_size
        if self.bucket_size < batch_size:
            raise InputError(f"bucket_size ({self.bucket_size}) must be >= batch_size "
                             f"({batch_size})")
        self.epoch = 0
        self._epoch_set = False  # by set_epoch: the caller numbers the passes (a resume)

    def set_epoch(self, epoch: int) -> None:
        """Choose the shuffle for this epoch (call before iterating, as with DistributedSampler):
        a resumed run then draws its epochs' orders again. Without it every pass draws the next.

        Args:
            epoch: the epoch number; the order is seeded with ``seed + epoch``.
        """
        self.epoch = epoch
        self._epoch_set = True

    def _batches(self) -> list[list[int]]:
        n = len(self.lengths)
        rng = random.Random(self.seed + self.epoch)
        order = list(range(n))
        if self.shuffle:
            rng.shuffle(order)
        pool_size = self.bucket_size if self.shuffle else max(n, 1)
        batches = []
        for start in range(0, n, pool_size):
            pool = sorted(order[start:start + pool_size], key=self.lengths.__getitem__)
            for b in range(0, len(pool), self.batch_size):
                batch = pool[b:b + self.batch_size]
                if len(batch) == self.batch_size or not self.drop_last:
                    batches.append(batch)
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        if not self._epoch_set:  # the next pass reshuffles, as a DataLoader(shuffle=True) does
            self.epoch += 1
        return iter(batches)

    def __len__(self) -> int:
        n, bs = len(self.lengths), self.batch_size
        pool = self.bucket_size if self.shuffle else max(n, 1)
        pools = [pool] * (n // pool) + ([n % pool] if n % pool else [])  # pool sizes
        if self.drop_last:
            return sum(m // bs for m in pools)
        return sum(math.ceil(m / bs) for m in pools)


def padding_fraction(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> float:
    """Share of padded cells over all batches: 1 - tokens / sum(batch_size * longest).

    Args:
        batches: batches of example indices, e.g. a :class:`BucketBatchSampler`'s.
        lengths: the sequence length of every example, indexed by those indices.

    Returns:
        a float in 0..1; 0.0 when there are no cells.
    """
    tokens = cells = 0
    for batch in batches:
        lens = [lengths[i] for i in batch]
        tokens += sum(lens)
        cells += len(lens) * max(lens, default=0)
    return 1.0 - tokens / cells if cells else 0.0


def pack_padded(embedded: torch.Tensor, lengths, batch_first: bool = True) -> PackedSequence:
    """Pack a right-padded batch for an RNN, so it skips the padding.

    Args:
        embedded: ``(B, T, *)`` (or ``(T, B, *)`` with ``batch_first=False``), e.g. embeddings.
        lengths: true lengths ``(B,)``, any order (``enforce_sorted=False``), all >= 1.

    Returns:
        a ``PackedSequence``; ``torch.nn.utils.rnn.pad_packed_sequence`` undoes it.
    """
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    if lengths.numel() and int(lengths.min()) < 1:
        raise InputError("pack_padded needs every length >= 1; drop or pad empty sequences "
                         "to one token first")
    # pack_padded_sequence wants the lengths on the CPU whatever the data's device
    return pack_padded_sequence(embedded, lengths.cpu(), batch_first=batch_first,
                                enforce_sorted=False)
