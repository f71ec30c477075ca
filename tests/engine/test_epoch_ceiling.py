"""Every trainer refuses an epoch count past the engine's MAX_EPOCHS (a typo such as 10**12
would otherwise train for ever), as a config error before any work, on the API and the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dlcourse.classify.config import ClassifierConfig
from dlcourse.embeddings.config import GloVeConfig, Word2VecConfig
from dlcourse.engine.config import MAX_EPOCHS
from dlcourse.errors import ConfigError
from dlcourse.lm.config import LMConfig
from dlcourse.som.config import SOMConfig
from dlcourse.vision.config import TransferConfig

CONFIGS = [ClassifierConfig, GloVeConfig, Word2VecConfig, LMConfig, SOMConfig, TransferConfig]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.__name__)
def test_every_config_takes_max_epochs_and_refuses_more(config):
    config(epochs=MAX_EPOCHS).validate()
    with pytest.raises(ConfigError, match=rf"epochs must be <= {MAX_EPOCHS}, got 10+$"):
        config(epochs=10**12).validate()


@pytest.mark.parametrize("noun", ["embed", "vision", "som"])
def test_the_cli_refuses_a_huge_epoch_count_in_one_line(noun, tmp_path):
    out = tmp_path / "run"
    run = subprocess.run([sys.executable, "-m", "dlcourse", noun, "train", "data.txt", "--epochs",
                          str(10**12), "--out", str(out)], capture_output=True, text=True,
                         cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip() == f"error: --epochs must be <= {MAX_EPOCHS}, got {10**12}"
    assert not out.exists()
