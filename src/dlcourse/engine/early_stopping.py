"""Early stopping: the best value of a monitored epoch statistic and the epochs since it
(plain Python, no torch; :func:`~dlcourse.engine.fitting.fit` saves its state in checkpoints)."""

from __future__ import annotations

from dlcourse.engine.config import whole_number
from dlcourse.errors import ConfigError, InputError


class EarlyStopping:
    """Stop when ``monitor`` has not improved for more than ``patience`` epochs in a row: that
    many are tolerated, so 0 stops at the first epoch without improvement and 3 after the
    fourth.

    ``mode`` is "min" for losses and perplexities, "max" for accuracy or F1.

    Args:
        monitor: the name of the epoch statistic watched (a key of the history rows).
        mode: ``"min"`` or ``"max"``: whether lower or higher values are better.
        patience: epochs without improvement tolerated; None never stops.
        min_delta: the margin a value must beat the best by to count as an improvement.

    Raises:
        ConfigError: ``mode`` is neither "min" nor "max"; a negative ``patience`` or
            ``min_delta``.
    """

    def __init__(
        self,
        monitor: str = "valid_loss",
        mode: str = "min",
        patience: int | None = None,
        min_delta: float = 0.0,
    ):
        if mode not in ("min", "max"):
            raise ConfigError(f"unknown mode {mode!r}; choose one of min, max")
        if patience is not None:
            try:
                patience = whole_number("patience", patience, 0, None,
                                        "a whole number >= 0 or None")
            except InputError as exc:  # a setting, as mode is
                raise ConfigError(str(exc), "patience") from None
        if isinstance(min_delta, bool) or not isinstance(min_delta, int | float) or not (
                min_delta >= 0):  # NaN too: no value would ever improve
            raise ConfigError(f"min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor = monitor
        self.mode = mode
        self.patience = patience
        self.min_delta = min_delta
        self.best: float | None = None
        self.bad_epochs = 0

    def improved(self, value: float) -> bool:
        """Record ``value``; True when it is the best so far.

        Args:
            value: this epoch's value of the monitored statistic.
        """
        if self.best is None or (
            value < self.best - self.min_delta
            if self.mode == "min"
            else value > self.best + self.min_delta
        ):
            self.best = value
            self.bad_epochs = 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.bad_epochs > self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        """Restore the best value and count of bad epochs from a checkpoint.

        Args:
            state: a dict from :meth:`state_dict` (``best``, ``bad_epochs``).
        """
        self.best = state["best"]
        self.bad_epochs = state["bad_epochs"]
