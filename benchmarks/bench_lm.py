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

PTB medium recipe (documented, not run here: this machine has no GPU and no network)
-------------------------------------------------------------------------------------
Zaremba, Sutskever & Vinyals (2014), "Recurrent Neural Network Regularization", medium LSTM:
2 layers of 650 units, 650-d embeddings, dropout 0.5, 35-step BPTT, batch 20, 39 epochs,
about 82 test perplexity on the Mikolov PTB split (86 valid). With this library::

    dlcourse lm train --model ptb-medium --data ptb --device cuda --out runs/ptb-medium
    dlcourse lm evaluate runs/ptb-medium

``ptb-medium`` uses the pytorch/examples optimiser (SGD lr 20, divided by 4 whenever the
valid loss does not improve, gradient norm clipped to 0.25, no weight tying); pytorch/examples
reports 80.97 test perplexity for that set-up after 40 epochs (75.96 with ``--tie``). It takes
roughly 30-60 s an epoch on a current GPU and days on 2 CPU cores; the figure reached with this
code on a GPU has not been measured yet.
"""

from __future__ import annotations

import argparse
import time


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
    args = parser.parse_args()
    if args.quick:
        args.max_lines, args.max_size, args.lesson_epochs, args.lstm_epochs = 1500, 2000, 1, 1
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
            "embedding", epochs=args.lesson_epochs, batch_size=10, lr=3e-3),
        "LSTM 1x200 tied": LMConfig.preset(
            "lstm", epochs=args.lstm_epochs, num_layers=1, batch_size=10),
    }
    for name, config in configs.items():
        start = time.perf_counter()
        lm = LanguageModel(config).fit(corpus, device=args.device, progress=False)
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
