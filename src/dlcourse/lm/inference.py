"""Perplexity over an id stream and sampling with temperature and top-k, for either model."""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.engine.config import whole_number
from dlcourse.engine.loop import autocast
from dlcourse.errors import InputError
from dlcourse.lm.batching import BPTTBatches
from dlcourse.lm.config import EVAL_BATCH_SIZE, MAX_TOKENS, LMConfig, most_streams
from dlcourse.lm.models import detach_hidden


def perplexity_of(loss: float) -> float:
    """exp(``loss``), infinite past float's range (a diverged run's loss, not an OverflowError
    traceback)."""
    return math.inf if loss >= 709.0 else math.exp(loss)  # NaN stays NaN


@torch.no_grad()
def stream_totals(
    model: nn.Module,
    ids: torch.Tensor,
    batch_size: int = EVAL_BATCH_SIZE,
    bptt: int = LMConfig.bptt,
    device: torch.device | None = None,
    rank: int = 0,
    world_size: int = 1,
    amp: bool = False,
) -> tuple[float, int]:
    """Summed next-word cross-entropy (nats) and token count over a (N,) id stream.

    The stream is cut into ``batch_size`` contiguous streams (at most
    :func:`~dlcourse.lm.config.most_streams`, two tokens each, for a short stream) and read
    window by window with the hidden state carried across windows, as in training;
    ``rank``/``world_size`` keep only this process's rows (``rank::world_size``), so summing
    the totals of all ranks (e.g. with ``dlcourse.engine.distributed.all_reduce_sum``) gives
    the totals of one process. A rank left without rows returns ``(0.0, 0)``. Eval mode (no
    dropout) is set for the duration and restored. ``amp`` scores in the same autocast as
    training with ``amp`` (a model is measured in the precision it trained in); the sum stays
    on the device and is read once at the end.

    Args:
        model: a model whose ``forward(x, hidden)`` returns ``(logits, hidden)``.
        ids: (N,) int64 word ids, N >= 2.
        batch_size: parallel streams B of all ranks together, >= 1 (capped as above).
        bptt: window length T, >= 1.
        device: a ``torch.device`` (or its name, e.g. "cpu") to read on; None: that of the
            model's parameters.
        rank, world_size: this process's share of the streams (0 and 1 for one process).
        amp: score under the autocast training with ``amp`` uses (CUDA only).

    Raises:
        ValueError: fewer than two tokens.
    """
    if ids.numel() < 2:
        raise InputError("need at least two tokens to measure perplexity")
    device = torch.device(device) if device else next(model.parameters()).device  # "cpu" too
    batch_size = min(batch_size, most_streams(ids.numel()))
    if rank >= batch_size:  # more ranks than streams: nothing to read here
        return 0.0, 0
    was_training = model.training
    model.eval()
    # float64 on the device: one host sync at the end instead of one per window (MPS has no
    # float64)
    total = torch.zeros((), dtype=torch.float32 if device.type == "mps" else torch.float64,
                        device=device)
    count, hidden = 0, None
    # the whole stream moves to the device once instead of one copy per window
    for x, y in BPTTBatches(ids.to(device), batch_size, bptt, rank=rank, world_size=world_size):
        with autocast(device, amp):
            logits, hidden = model(x, hidden)  # (B / world_size, T, V) for x (B / world_size, T)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum")
        hidden = detach_hidden(hidden)
        total += loss.to(total.dtype)
        count += y.numel()
    model.train(was_training)
    return float(total), count


def stream_loss(
    model: nn.Module,
    ids: torch.Tensor,
    batch_size: int = EVAL_BATCH_SIZE,
    bptt: int = LMConfig.bptt,
    device: torch.device | None = None,
    amp: bool = False,
) -> float:
    """Mean next-word cross-entropy (nats) of ``model`` over a (N,) id stream.

    See :func:`stream_totals` for how the stream is read.

    Args:
        model, ids, batch_size, bptt, device, amp: see :func:`stream_totals`.

    Raises:
        ValueError: fewer than two tokens.
    """
    total, count = stream_totals(model, ids, batch_size, bptt, device, amp=amp)
    return total / count


def perplexity(model: nn.Module, ids: torch.Tensor, batch_size: int = EVAL_BATCH_SIZE,
               bptt: int = LMConfig.bptt,
               device: torch.device | None = None, amp: bool = False) -> float:
    """``exp`` of :func:`stream_loss`: the model's perplexity on a (N,) id stream.

    Args:
        model, ids, batch_size, bptt, device, amp: see :func:`stream_totals`.

    Returns:
        The perplexity; ``inf`` where the loss passes float's range (a diverged model).

    Raises:
        ValueError: fewer than two tokens.

    Example:
        >>> from dlcourse.lm import EmbeddingModel
        >>> _ = torch.manual_seed(0)
        >>> 1 < perplexity(EmbeddingModel(20, 4), torch.randint(0, 20, (200,))) < 40
        True
    """
    return perplexity_of(stream_loss(model, ids, batch_size, bptt, device, amp=amp))


@torch.no_grad()
def sample(
    model: nn.Module,
    prompt_ids: list[int],
    max_tokens: int = 30,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    stop_id: int | None = None,
    banned_ids: tuple[int, ...] = (),
) -> list[int]:
    """Continue ``prompt_ids`` by sampling one word at a time.

    Args:
        model: a model whose ``forward(x, hidden)`` returns ``(logits, hidden)``.
        prompt_ids: the conditioning ids (at least one).
        max_tokens: number of new ids to draw (1 to ``MAX_TOKENS``, 100,000).
        temperature: divides the logits; below 1 sharpens, above 1 flattens; 0 means greedy.
        top_k: sample only among the ``top_k`` most likely words (0 or ``None``: all).
        generator: CPU ``torch.Generator`` for reproducible draws.
        stop_id: stop after drawing this id (e.g. ``<eos>``).
        banned_ids: ids never drawn (e.g. ``<unk>`` and ``<pad>``).

    Returns:
        The new ids (not the prompt).

    Raises:
        InputError: empty prompt; ``max_tokens`` or ``top_k`` that is not a whole number in
            range (``4.0`` and numpy integers are whole numbers); a temperature that is
            negative, NaN or infinite.
    """
    if not prompt_ids:
        raise InputError("the prompt must hold at least one token")
    max_tokens = whole_number("max_tokens", max_tokens, 1, MAX_TOKENS,
                              f"an integer from 1 to {MAX_TOKENS:,}")
    # NaN and infinities would pass a plain `< 0` test and reach torch.multinomial, which
    # refuses the NaN probabilities they make with a RuntimeError
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) \
            or not math.isfinite(temperature) or temperature < 0:
        raise InputError(f"temperature must be a finite number >= 0 (0 = greedy), got "
                         f"{temperature!r}")
    temperature = float(temperature)
    if top_k is not None:
        top_k = whole_number("top_k", top_k, 0, None, "an integer >= 0 (0 or None: all words)")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    x = torch.tensor([prompt_ids], dtype=torch.long, device=device)  # (1, T)
    hidden, out = None, []
    for _ in range(max_tokens):
        logits, hidden = model(x, hidden)
        last = logits[0, -1].float().cpu()  # (V,)
        if banned_ids:
            last[list(banned_ids)] = float("-inf")
        if temperature == 0:
            nxt = int(last.argmax())
        else:
            last = last / temperature
            if top_k and top_k < last.numel():
                kth = torch.topk(last, top_k).values[-1]
                last = last.masked_fill(last < kth, float("-inf"))
            nxt = int(torch.multinomial(F.softmax(last, dim=-1), 1, generator=generator))
        out.append(nxt)
        if nxt == stop_id:
            break
        x = torch.tensor([[nxt]], dtype=torch.long, device=device)  # (1, 1)
    model.train(was_training)
    return out


def prompt_text(prompt) -> str:
    """``generate``'s prompt as text: None is empty, a list of words is joined with spaces.

    Raises:
        InputError: neither text nor a list of words (token ids among them).
    """
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, bytes) or not hasattr(prompt, "__iter__"):
        raise InputError(f"prompt must be text or a list of words, got {type(prompt).__name__}")
    words = list(prompt)
    # ids would be read as the words "12", "5" (and tensor items as "tensor(12)")
    bad = next((w for w in words if not isinstance(w, str)), None)
    if bad is not None:
        raise InputError(f"prompt must be text or a list of words, got {type(bad).__name__} "
                         f"{bad!r} in the list; for token ids give the words: "
                         "[lm.itos_[i] for i in ids]")
    return " ".join(words)
