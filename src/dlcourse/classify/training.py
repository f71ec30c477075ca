"""What the lesson's training adds to a plain loop: word dropout, adversarial training on the
word vectors, and a learning-rate decay. They work with any of the classifiers (whose word
vectors come from a submodule named ``embedding``) and in a loop of your own."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from dlcourse.classify.config import SCHEDULES as DECAYS
from dlcourse.classify.config import WARMUP_SHARE
from dlcourse.errors import InputError

SCHEDULES = (None, *DECAYS)


def drop_words(ids: torch.Tensor, p: float, unk_id: int, pad_id: int,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Word dropout: each real token of ``ids`` (B, T) becomes ``unk_id`` with probability ``p``.

    The classifier cannot lean on a few strong words, and it learns what to do with words it
    has never seen, which are ``<unk>`` at test time (Iyyer et al. 2015). Padding stays padding.

    Args:
        ids: token ids (B, T) int64 (any shape works).
        p: the drop probability, in [0, 1]; <= 0 returns ``ids`` itself.
        unk_id: the id a dropped token becomes.
        pad_id: the padding id, never replaced.
        generator: the random generator (on ``ids``' device); None: torch's global one.

    >>> drop_words(torch.tensor([[5, 6, 0]]), 1.0, unk_id=1, pad_id=0).tolist()
    [[1, 1, 0]]
    """
    if p <= 0.0:
        return ids
    hit = torch.rand(ids.shape, generator=generator, device=ids.device) < p  # (B, T)
    return ids.masked_fill(hit & (ids != pad_id), unk_id)


def _unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper."""
    return model.module if isinstance(getattr(model, "module", None), nn.Module) else model


def adversarial_loss(model: nn.Module, ids: torch.Tensor, lengths: torch.Tensor,
                     loss_fn: Callable[[torch.Tensor], torch.Tensor], epsilon: float
                     ) -> torch.Tensor:
    """Mean of the loss and the loss on word vectors pushed ``epsilon`` the worst way.

    Adversarial training for text (Miyato, Dai and Goodfellow 2017): the gradient of the loss
    with respect to the sentence's word vectors (B, T, E) gives, per sentence, the direction in
    which a perturbation of L2 norm ``epsilon`` raises the loss most (to first order); the model
    is trained on the clean and on the perturbed vectors. It smooths the classifier around
    each training sentence, which the word vectors of similar words share. It costs a second
    forward and backward pass (the clean backward runs here; ``backward()`` of the result runs
    the adversarial one and adds the clean gradients).

    Args:
        model: a classifier with an ``embedding`` submodule (or a DDP wrapper of one); it is
            called as ``model(ids, lengths)``.
        ids, lengths: the padded batch (B, T) and its lengths (B,).
        loss_fn: logits -> scalar loss (the targets bound in).
        epsilon: the perturbation's norm per sentence; 0 gives the plain loss.

    Returns:
        ``(loss + adversarial loss) / 2``, a scalar to call ``backward()`` on.
    """
    inner = _unwrap(model)
    vectors: list[torch.Tensor] = []

    def keep(module, args, out):
        # a frozen embedding gives vectors without a graph: make them a leaf to differentiate
        out = out if out.requires_grad else out.detach().requires_grad_()
        vectors.append(out)
        return out

    hook = inner.embedding.register_forward_hook(keep)
    try:
        loss = loss_fn(model(ids, lengths))
    finally:
        hook.remove()
    if epsilon <= 0.0:
        return loss
    # one full backward of the clean loss gives both the direction of the perturbation and the
    # parameters' clean gradients (a backward only as far as the vectors, and the clean graph
    # kept for the final backward, would cost a third pass through the network)
    params = [p for p in inner.parameters() if p.requires_grad]
    grad, *clean = torch.autograd.grad(loss, [vectors[0], *params], allow_unused=True)
    # padding stays zero (a CNN's windows do read the padded positions)
    grad = grad * (ids != inner.config.padding_idx).unsqueeze(-1).to(grad.dtype)  # (B, T, E)
    norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)  # (B,)
    shift = (epsilon * grad / norm[:, None, None]).detach()
    hook = inner.embedding.register_forward_hook(lambda module, args, out: out + shift)
    try:
        # the bare module: under DDP one wrapped forward per backward; every parameter still
        # gets its gradient in the one backward that follows, so it is reduced once
        adversarial = loss_fn(inner(ids, lengths))
    finally:
        hook.remove()
    # a term worth zero whose gradient is the clean gradient: backward() of the result gives
    # the mean of the clean and the adversarial gradients
    carry = sum((p * g).sum() for p, g in zip(params, clean) if g is not None)
    return 0.5 * (loss.detach() + adversarial) + 0.5 * (carry - carry.detach())


def lr_schedule(optimizer: torch.optim.Optimizer, name: str | None, total_steps: int):
    """A per-step ``LambdaLR`` taking the learning rate from its start to zero at step
    ``total_steps``: "linear" or "cosine"; "warmup" first rises linearly from zero over
    :data:`WARMUP_SHARE` of the steps (fine-tuning a pretrained Transformer), then decays
    linearly; None gives None (a constant rate).

    Args:
        optimizer: the optimizer whose learning rates are scaled.
        name: "linear", "cosine", "warmup" or None.
        total_steps: the steps until the rate reaches zero (below 1 counts as 1).

    Raises:
        ValueError: an unknown name (the message lists :data:`SCHEDULES`).
    """
    if name not in SCHEDULES:
        raise InputError(f"unknown schedule '{name}'; choose None, linear, cosine or warmup")
    if name is None:
        return None
    total = max(total_steps, 1)
    if name == "warmup":
        rise = max(1, round(WARMUP_SHARE * total))

        def warmup(s: int) -> float:  # the full rate at step rise - 1, then down to zero
            if s < rise:
                return (s + 1) / rise
            return max(0.0, (total - s) / (total - rise + 1))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, warmup)
    if name == "linear":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / total))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
