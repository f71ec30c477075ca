"""Benchmark the language models on the offline WordNet glosses: test perplexity and CPU speed.

Trains, on the same seeded 80/10/10 split and vocabulary:

- an interpolated Kneser-Ney bigram (counts, computed here) as the reference,
- the lesson's model (``nn.Embedding -> nn.Linear``, Adam, cross-entropy, 10 epochs),
- the LSTM language model (tied, hidden state carried, clipping, LR decay, early stopping),

and prints test perplexity with ``ratio vs bigram`` and ``ratio vs lesson`` (the LSTM must be
below 1 on both), and training throughput in tokens/s with ``ratio vs lesson`` (same run, same
machine, so the ratio holds when the machine is busy; the absolute figures do not).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_lm.py            # ~8 min on 2 CPU cores
    PYTHONPATH=src .venv/bin/python benchmarks/bench_lm.py --quick    # smoke test, ~30 s
    PYTHONPATH=src .venv/bin/python benchmarks/bench_lm.py --distributed   # 1 vs 2 processes

``--distributed`` trains the same LSTM for ``--ddp-epochs`` epochs under ``torchrun
--standalone`` with 1 and then 2 processes (gloo on CPU, nccl with ``--device cuda``; the
global batch of 10 streams is split over the ranks) and prints training tokens/s of the whole
run with ``ratio vs 1 process``. It then times single training steps of the DDP model,
alternating synchronised steps with ``no_sync()`` steps (same work, no gradient all-reduce):
``comm share`` = (synced - unsynced) / synced median step time is the part of a step the
all-reduce costs after its overlap with the backward pass; ``all-reduce ms`` times a bare
all-reduce of a gradient-sized buffer. Several machines: see docs/distributed.md.

PTB medium recipe (documented, not run here: this machine has no GPU and no network)
-------------------------------------------------------------------------------------
Zaremba, Sutskever & Vinyals (2014), "Recurrent Neural Network Regularization", medium LSTM:
2 layers of 650 units, 650-d embeddings, dropout 0.5, 35-step BPTT, batch 20, 39 epochs,
about 82 test perplexity on the Mikolov PTB split (86 valid). With this library::

    dlcourse lm train ptb --model ptb-medium --device cuda --out runs/ptb-medium
    dlcourse lm evaluate runs/ptb-medium

``ptb-medium`` uses the pytorch/examples optimiser (SGD lr 20, divided by 4 whenever the
valid loss does not improve, gradient norm clipped to 0.25, no weight tying); pytorch/examples
reports 80.97 test perplexity for that set-up after 40 epochs (75.96 with ``--tie``). It takes
roughly 30-60 s an epoch on a current GPU and days on 2 CPU cores; the figure reached with this
code on a GPU has not been measured yet.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

from _scaling import comm_share, scaling_rows
from dlcourse.engine.distributed import time_all_reduce

DDP_BATCH = 10  # global streams, split over the processes


def ddp_worker(args) -> None:
    """One torchrun rank of ``--distributed``: train, time steps, rank 0 writes JSON."""
    import torch
    import torch.nn.functional as F

    from dlcourse.engine import write_json
    from dlcourse.engine.distributed import (
        init_distributed,
        is_distributed,
        is_main_process,
        rank,
        shutdown_distributed,
        world_size,
        wrap_model,
    )
    from dlcourse.lm import BPTTBatches, LanguageModel, LMConfig, load_corpus
    from dlcourse.lm.models import detach_hidden
    from dlcourse.lm.training import build_for

    if args.threads:
        torch.set_num_threads(args.threads)
    device = init_distributed(args.device)
    corpus = load_corpus(args.data, max_lines=args.max_lines, max_size=args.max_size, seed=0)
    c = LMConfig.preset("lstm", epochs=args.ddp_epochs, num_layers=1, batch_size=DDP_BATCH,
                        patience=None, device=args.device)
    lm = LanguageModel(c).fit(corpus)
    result = {"processes": world_size(),
              "tokens_per_s": statistics.mean(h["items_per_s"] for h in lm.history_),
              "epoch_seconds": statistics.mean(h["seconds"] for h in lm.history_)}

    # step timing: synchronised steps alternate with no_sync() steps on the same windows
    model = build_for(c, len(corpus.itos)).to(device)
    ddp = wrap_model(model, device)
    optimizer = torch.optim.Adam(ddp.parameters(), lr=c.lr)
    world = world_size() if is_distributed() else 1
    windows = BPTTBatches(corpus.train, c.batch_size, c.bptt, rank=rank() if world > 1 else 0,
                          world_size=world)
    times: dict[bool, list[float]] = {True: [], False: []}
    hidden = None
    for i, (x, y) in enumerate(windows):
        if i >= 2 * args.comm_steps:
            break
        x, y, synced = x.to(device), y.to(device), i % 2 == 0
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        with contextlib.nullcontext() if synced or world == 1 else ddp.no_sync():
            logits, hidden = ddp(x, hidden)  # (B / world, T, V)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times[synced].append(time.perf_counter() - start)
        hidden = detach_hidden(hidden)
    synced, unsynced = statistics.median(times[True]), statistics.median(times[False])
    result.update(step_ms=1e3 * synced, no_sync_step_ms=1e3 * unsynced,
                  comm_share=comm_share(synced, unsynced, world))
    if is_distributed():
        numel = sum(p.numel() for p in model.parameters())
        result.update(allreduce_ms=time_all_reduce(numel, args.comm_steps, device),
                      grad_mb=numel * 4 / 2**20)
    if is_main_process():
        result["test_ppl"] = lm.perplexity(corpus.test)
        write_json(args.ddp_worker, result)
    shutdown_distributed()


def distributed_throughput(args) -> None:
    """``--distributed``: launch the worker with 1 and 2 processes and print the table."""
    rows = scaling_rows(lambda out: [
        __file__, "--ddp-worker", out, "--data", args.data, "--max-lines", args.max_lines,
        "--max-size", args.max_size, "--ddp-epochs", args.ddp_epochs,
        "--comm-steps", args.comm_steps, "--threads", args.threads, "--device", args.device])
    base = rows[0]["tokens_per_s"]
    print(f"\nLSTM 1x200 tied, global batch {DDP_BATCH} streams, {args.ddp_epochs} epoch(s), "
          f"{args.threads or 'default'} torch thread(s) per process, device {args.device}")
    print(f"{'processes':>9} {'train tok/s':>11} {'vs 1 proc':>9} {'step ms':>8} "
          f"{'no_sync ms':>10} {'comm share':>10} {'all-reduce ms':>13} {'test ppl':>8} "
          f"{'wall s':>7}")
    for r in rows:
        several = r["processes"] > 1  # one process has nothing to synchronise
        allreduce = f"{r['allreduce_ms']:.2f}" if several else "-"
        no_sync = f"{r['no_sync_step_ms']:.1f}" if several else "-"
        print(f"{r['processes']:>9} {r['tokens_per_s']:>11.0f} {r['tokens_per_s'] / base:>9.2f} "
              f"{r['step_ms']:>8.1f} {no_sync:>10} {r['comm_share']:>10.1%} "
              f"{allreduce:>13} {r['test_ppl']:>8.1f} {r['wall_s']:>7.1f}")
    two = rows[1]
    print(f"\nratio vs 1 process (2-process tokens/s): {two['tokens_per_s'] / base:.2f}; "
          f"gradient {two['grad_mb']:.1f} MiB, all-reduce {two['allreduce_ms']:.2f} ms, "
          f"comm share of a step {two['comm_share']:.1%}")


def main() -> None:
    import torch

    from dlcourse.lm import KneserNeyBigram, LanguageModel, LMConfig, load_corpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="wordnet", help="corpus name or text file")
    parser.add_argument("--max-lines", type=int, default=8000, help="training lines")
    parser.add_argument("--max-size", type=int, default=10000, help="vocabulary size")
    parser.add_argument("--lesson-epochs", type=int, default=10)
    parser.add_argument("--lstm-epochs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (0: torch's default); 1 by default because on a "
                        "shared 2-core machine 2 threads ran 10x slower than 1")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="tiny settings, for a smoke test")
    parser.add_argument("--distributed", action="store_true",
                        help="LSTM throughput with 1 and 2 processes under torchrun instead")
    parser.add_argument("--ddp-epochs", type=int, default=1, help="epochs per --distributed run")
    parser.add_argument("--comm-steps", type=int, default=50,
                        help="timed steps of each kind (synchronised, no_sync) in --distributed")
    parser.add_argument("--ddp-worker", help=argparse.SUPPRESS)  # internal: a torchrun rank
    args = parser.parse_args()
    if args.quick:
        args.max_lines, args.max_size, args.lesson_epochs, args.lstm_epochs = 1500, 2000, 1, 1
    if args.ddp_worker:
        ddp_worker(args)
        return
    if args.distributed:
        distributed_throughput(args)
        return
    if args.threads:
        torch.set_num_threads(args.threads)

    start = time.perf_counter()
    corpus = load_corpus(args.data, max_lines=args.max_lines, max_size=args.max_size, seed=0)
    n = corpus.summary()
    print(f"data {n['data']}: {n['train_tokens']:,} train / {n['valid_tokens']:,} valid / "
          f"{n['test_tokens']:,} test tokens, vocabulary {n['vocab_size']:,}; device "
          f"{args.device}, {torch.get_num_threads()} torch threads "
          f"(loaded in {time.perf_counter() - start:.1f} s)")

    start = time.perf_counter()
    bigram = KneserNeyBigram(n["vocab_size"]).fit(corpus.train)
    rows = [{"model": "Kneser-Ney bigram", "epochs": "-",
             "test_ppl": bigram.perplexity(corpus.test),
             "tokens_per_s": None, "seconds": time.perf_counter() - start}]
    configs = {
        "lesson embedding->linear": LMConfig.preset(
            "embedding", epochs=args.lesson_epochs, batch_size=10, lr=3e-3, device=args.device),
        "LSTM 1x200 tied": LMConfig.preset(
            "lstm", epochs=args.lstm_epochs, num_layers=1, batch_size=10, device=args.device),
    }
    for name, config in configs.items():
        start = time.perf_counter()
        lm = LanguageModel(config).fit(corpus)
        tokens_per_s = sum(h["items_per_s"] for h in lm.history_) / len(lm.history_)
        rows.append({"model": name, "epochs": len(lm.history_),
                     "test_ppl": lm.perplexity(corpus.test), "tokens_per_s": tokens_per_s,
                     "seconds": time.perf_counter() - start})

    bigram_ppl, lesson = rows[0]["test_ppl"], rows[1]
    print(f"\n{'model':<26} {'epochs':>6} {'test ppl':>9} {'vs bigram':>9} {'vs lesson':>9} "
          f"{'train tok/s':>11} {'vs lesson':>9} {'seconds':>8}")
    for r in rows:
        speed = "-" if r["tokens_per_s"] is None else f"{r['tokens_per_s']:.0f}"
        speed_ratio = ("-" if r["tokens_per_s"] is None
                       else f"{r['tokens_per_s'] / lesson['tokens_per_s']:.2f}")
        print(f"{r['model']:<26} {r['epochs']!s:>6} {r['test_ppl']:>9.1f} "
              f"{r['test_ppl'] / bigram_ppl:>9.2f} {r['test_ppl'] / lesson['test_ppl']:>9.2f} "
              f"{speed:>11} {speed_ratio:>9} {r['seconds']:>8.1f}")
    lstm = rows[2]
    beats = lstm["test_ppl"] < bigram_ppl and lstm["test_ppl"] < lesson["test_ppl"]
    print(f"\nratio vs bigram (LSTM test ppl / bigram): {lstm['test_ppl'] / bigram_ppl:.2f}; "
          f"ratio vs lesson: {lstm['test_ppl'] / lesson['test_ppl']:.2f} -> target "
          f"{'MET' if beats else 'MISSED'} (LSTM below both)")


if __name__ == "__main__":
    main()
