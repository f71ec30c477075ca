"""Run by the language-model distributed tests under torchrun: trains ``LanguageModel`` on the
first Lee documents and saves this rank's final weights and history. Not a test module itself.

    python -m torch.distributed.run --standalone --nproc_per_node=2 lm_ddp_worker.py OUT CONFIG
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from dlcourse.engine.distributed import init_distributed, rank, shutdown_distributed
from dlcourse.lm import LanguageModel, LMConfig, load_corpus

MAX_LINES = 300  # ~55k training tokens


def main(out: Path, config: dict) -> None:
    torch.set_num_threads(1)
    init_distributed("cpu")
    corpus = load_corpus("lee", max_lines=MAX_LINES, seed=0)
    # no out_dir: each rank keeps its own in-memory best weights, so agreement is not the
    # trivial result of every rank reading rank 0's best.pt
    lm = LanguageModel(LMConfig(**config), device="cpu").fit(corpus)
    torch.save(lm.model_.state_dict(), out / f"rank{rank()}.pt")
    torch.save(lm.history_, out / f"history{rank()}.pt")
    shutdown_distributed()


if __name__ == "__main__":
    main(Path(sys.argv[1]), json.loads(sys.argv[2]))
