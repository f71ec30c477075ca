"""What the engine's ``fit`` needs from a language model: the training step with the hidden state
carried across windows (and its checkpoint form), the optimiser and the LR schedule; and the
epoch whose weights a finished run keeps."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.lm.config import LMConfig
from dlcourse.lm.models import Hidden, build_model, detach_hidden


class CarriedHidden:
    """The training step of a stream model, carrying the hidden state from window to window.

    The windows of a row are consecutive text, so the LSTM starts each window from the state
    the previous one ended in (detached: truncated back-propagation through time), and from
    zeros at each epoch start (:meth:`reset`, the engine's ``on_epoch_start``). For the embedding
    model the state is always ``None``.

    :meth:`state_dict` / :meth:`load_state_dict` are the engine's ``extra_state``: an epoch
    interrupted between two windows resumes from the same state, so the resumed run equals the
    uninterrupted one. Under torchrun each rank carries the state of its rows
    (``rank::world_size`` of the ``batch_size`` streams); the saved state holds every rank's rows
    in their global order, so a run resumes with any number of processes.

    Args:
        device: where the restored state goes.
        rank, world_size: this process's share of the streams (0 and 1 for one process).

    Example:
        >>> from dlcourse.lm import LSTMModel
        >>> carried = CarriedHidden(torch.device("cpu"))
        >>> x = torch.zeros(2, 5, dtype=torch.long)
        >>> loss, tokens = carried.step(LSTMModel(10, 4, 4, num_layers=1), (x, x))
        >>> tokens, tuple(carried.state_dict()["h"].shape)
        (10, (1, 2, 4))
    """

    def __init__(self, device: torch.device, rank: int = 0, world_size: int = 1):
        self.device = device
        self.rank = rank
        self.world_size = world_size
        self.hidden: Hidden = None

    def reset(self, epoch: int | None = None) -> None:
        """Start the next pass from zeros (a new epoch reads the streams from the start).

        Args:
            epoch: the epoch starting, as the engine's ``on_epoch_start`` passes it; unused.
        """
        self.hidden = None

    def step(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]):
        """Next-word cross-entropy of one window: ``(loss, predicted tokens)`` for the engine.

        Args:
            model: the network (DDP-wrapped or not): ``model(x, hidden) -> (logits, hidden)``.
            batch: ``(x, y)``, word ids (B / world_size, T) each, ``y`` one token ahead of ``x``.

        Returns:
            ``(loss, n)``: the mean loss (a scalar tensor) and the number of tokens predicted.
        """
        x, y = batch  # (B / world, T) each
        logits, hidden = model(x, self.hidden)  # (B / world, T, V); model may be DDP-wrapped
        self.hidden = detach_hidden(hidden)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        return loss, y.numel()  # numel comes from the shape: no host sync

    def state_dict(self) -> dict[str, torch.Tensor]:
        """``{"h": (L, B, H), "c": (L, B, H)}`` on the CPU, all ranks' rows; ``{}`` before the
        first window. Collective under torchrun: every rank calls it."""
        if self.hidden is None:
            return {}
        state = {}
        for name, part in zip(("h", "c"), self.hidden):  # (L, B / world, H)
            if self.world_size > 1:
                from dlcourse.engine.distributed import gather_shards

                # gather_shards puts rank r's row i at global row i * world + r, which is how
                # BPTTBatches deals the rows out (rows r::world)
                rows = gather_shards(part.transpose(0, 1).contiguous(),
                                     part.size(1) * self.world_size)  # (B, L, H)
                part = rows.transpose(0, 1)  # (L, B, H)
            state[name] = part.detach().cpu().contiguous()
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` saved, keeping this rank's rows.

        Args:
            state: ``{"h": (L, B, H), "c": (L, B, H)}`` of all ranks' rows, moved to ``device``;
                ``{}``: start from zeros.
        """
        if not state:
            self.hidden = None
            return
        self.hidden = tuple(
            state[name][:, self.rank::self.world_size].contiguous().to(self.device)
            for name in ("h", "c"))  # (L, B / world, H) each


def make_optimizer(model: nn.Module, config: LMConfig):
    """The optimiser and LR schedule of a run.

    Args:
        model: the network whose parameters train.
        config: ``optimizer`` (adam or sgd), ``lr`` and ``lr_decay``.

    Returns:
        ``(optimizer, scheduler)``: with ``lr_decay`` a ReduceLROnPlateau that multiplies the
        LR by it whenever the valid loss does not improve, else ``None``.
    """
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    scheduler = None
    if config.lr_decay is not None:
        # patience 0: pytorch/examples divides the LR as soon as one epoch does not improve
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=config.lr_decay, patience=0)
    return optimizer, scheduler


def build_for(config: LMConfig, vocab_size: int) -> nn.Module:
    """The network ``config`` describes (``model``, sizes, dropout, tying) for a vocabulary of
    ``vocab_size`` words, freshly initialised from torch's global generator.

    Example:
        >>> build_for(LMConfig(model="embedding", embed_dim=8), 50).embedding_table.shape
        torch.Size([50, 8])
    """
    return build_model(config.model, vocab_size, embed_dim=config.embed_dim,
                       hidden_dim=config.hidden_dim, num_layers=config.num_layers,
                       dropout=config.dropout, tie_weights=config.tie_weights)


def best_epoch(history: list[dict]) -> int:
    """The epoch (from 1) whose weights fit restored: the lowest validation loss; 0 before any."""
    if not history:
        return 0
    return 1 + min(range(len(history)), key=lambda i: history[i]["valid_loss"])
