"""An exponential moving average of a model's weights during training (``fit(ema_decay=...)``).

After every optimizer step the average moves ``1 - decay`` of the way towards the current
weights (torch's :class:`~torch.optim.swa_utils.AveragedModel` with its EMA rule). It smooths
out the last steps' noise, which on a small data set is worth about as much as a small
ensemble, at the price of one more copy of the weights and an in-place update per step; but it
lags the weights by about half its span, so ``fit`` validates both each epoch and lets the
better stand for it (on the review sentences: the weights while they improve fast, the average
in the last epochs).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from dlcourse.errors import ConfigError


class WeightAverage:
    """The moving average of ``model``'s parameters, updated after each ``optimizer`` step.

    Example:
        >>> net = nn.Linear(2, 1)
        >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
        >>> avg = WeightAverage(net, opt, decay=0.5)
        >>> net(torch.ones(1, 2)).sum().backward(); opt.step()
        >>> with avg.applied():  # inside, net holds the averaged weights
        ...     inside = net.weight.detach().clone()
        >>> bool(torch.equal(inside, net.weight))  # one step: the average is the weights
        True
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, decay: float):
        if not 0.0 < decay < 1.0:
            raise ConfigError(f"decay must lie in (0, 1), got {decay}")
        self.model = model
        # buffers (a frozen embedding table, batch-norm statistics) stay the model's own
        self.average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay),
                                     use_buffers=False)
        self._hook = optimizer.register_step_post_hook(
            lambda *_: self.average.update_parameters(self.model))

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Inside the block the model holds the averaged parameters; its own come back after."""
        params = list(self.model.parameters())
        own = [p.detach().clone() for p in params]
        self.copy_to_model()
        try:
            yield
        finally:
            with torch.no_grad():
                for p, saved in zip(params, own, strict=True):
                    p.copy_(saved)

    def copy_to_model(self) -> None:
        """Give the model the averaged parameters for good (the end of training)."""
        if int(self.average.n_averaged) == 0:  # no step yet: the average is the model itself
            return
        with torch.no_grad():
            for p, a in zip(self.model.parameters(), self.average.module.parameters(),
                            strict=True):
                p.copy_(a)

    def state_dict(self) -> dict:
        return self.average.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.average.load_state_dict(state)

    def close(self) -> None:
        """Stop following the optimizer."""
        self._hook.remove()
