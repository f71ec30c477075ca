"""Movie-review sentiment (the 10,568 rated Rotten Tomatoes sentences, fixed 80/10/10 split):
test accuracy of the recurrent classifiers over several seeds against a bag-of-words logistic
regression fitted in the same run, plus training throughput and prediction latency on this CPU.

    python benchmarks/bench_classify.py            # 3 seeds (about 10 minutes on 2 CPU cores)
    python benchmarks/bench_classify.py --seeds 1 --quick
    python benchmarks/bench_classify.py --distributed   # sentences/s with 1 and 2 processes

Targets (issue 6): >= 80% test accuracy with pretrained vectors allowed; published 10-fold MR
figures for contrast: NB 79.0, NBSVM-bigram 79.4, CNN-rand 76.1, CNN-static word2vec 81.0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

from dlcourse.classify import TextClassifier, classification_metrics, rt_split
from dlcourse.classify.baseline import BowLogisticRegression
from dlcourse.engine.distributed import launch, time_all_reduce

MODELS = {
    # the lesson's first model: Embedding -> RNN -> Linear, last hidden state, random embeddings
    "lesson RNN (random emb.)": dict(model="rnn", num_layers=1, bidirectional=False,
                                     pooling="last", embed_dim=100, hidden_size=128,
                                     dropout=0.3, epochs=8),
    # the 2-layer LSTM of the second lesson, random embeddings
    "2-layer BiLSTM-max (random emb.)": dict(model="lstm", num_layers=2, hidden_size=64,
                                             embed_dim=100, dropout=0.5, epochs=8),
    # GloVe 6B 50d, fine-tuned, with the 50k most frequent GloVe words in the vocabulary
    "BiLSTM-max GloVe-50d fine-tuned": dict(model="lstm", num_layers=1, hidden_size=64,
                                            dropout=0.5, pretrained="glove-6b-50d",
                                            pretrained_vocab=50000, epochs=8),
    "BiGRU-max GloVe-50d fine-tuned (h=100)": dict(model="gru", num_layers=1, hidden_size=100,
                                                   dropout=0.5, pretrained="glove-6b-50d",
                                                   pretrained_vocab=50000, epochs=8),
}


# the data-parallel throughput run: one BiGRU, random embeddings, global batch 64, no dropout
DDP_MODEL = dict(model="gru", num_layers=1, embed_dim=64, hidden_size=64, dropout=0.0,
                 batch_size=64, patience=None, device="cpu")


def ddp_worker(epochs: int, limit: int | None) -> None:
    """One process of ``--distributed``: train under torchrun, print a JSON line on rank 0.

    The communication share is an estimate: the time of one all-reduce of every trainable
    parameter (what DDP sends each step, in buckets), measured after training, times the steps
    of an epoch, over the epoch's seconds; DDP overlaps part of it with the backward pass.
    """

    from dlcourse.engine.distributed import (
        init_distributed,
        is_distributed,
        is_main_process,
        shutdown_distributed,
        world_size,
    )

    torch.set_num_threads(1)
    init_distributed("cpu")
    texts, labels = rt_split()["train"]
    texts, labels = texts[:limit], labels[:limit]
    clf = TextClassifier(**DDP_MODEL, epochs=epochs).fit(texts, labels)
    seconds = sum(h["seconds"] for h in clf.history_)
    rate = sum(h["items"] for h in clf.history_) / seconds
    comm_share = None
    if is_distributed():
        numel = sum(p.numel() for p in clf.model_.parameters() if p.requires_grad)
        time_all_reduce(numel, 1)                                   # warm-up
        per_step = time_all_reduce(numel, 20) / 1e3
        steps = epochs * -(-len(texts) // DDP_MODEL["batch_size"])
        comm_share = per_step * steps / seconds
    if is_main_process():
        print(json.dumps({"processes": world_size(), "sentences_per_s": rate, "seconds": seconds,
                          "comm_share": comm_share, "params": sum(
                              p.numel() for p in clf.model_.parameters()),
                          "sentences": len(texts)}))
    shutdown_distributed()


def distributed(epochs: int, limit: int | None) -> None:
    """Launch ``ddp_worker`` with 1 and 2 gloo processes and print sentences/s for each."""
    rows = []
    for n in (1, 2):
        worker = [__file__, "--ddp-worker", "--epochs", epochs]
        if limit:
            worker += ["--limit", limit]
        result = launch(worker, n)
        if result.returncode != 0:
            sys.exit(f"{n}-process run failed:\n{result.stderr[-3000:]}")
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    first = rows[0]
    print(f"rt-sentences train ({first['sentences']} sentences), BiGRU-max h=64 "
          f"({first['params']} parameters), global batch {DDP_MODEL['batch_size']}, {epochs} "
          f"epoch(s), gloo on CPU, 1 thread per process, {os.cpu_count()} CPUs visible")
    print(f"{'processes':>9s} {'sent/s':>8s} {'train s':>8s} {'ratio vs 1 process':>18s} "
          f"{'comm share (est.)':>17s}")
    for row in rows:
        share = "" if row["comm_share"] is None else f"{row['comm_share']:.1%}"
        print(f"{row['processes']:9d} {row['sentences_per_s']:8.0f} {row['seconds']:8.1f} "
              f"{row['sentences_per_s'] / first['sentences_per_s']:18.2f} {share:>17s}")


def latency(clf: TextClassifier, texts: list[str], repeats: int) -> tuple[float, float]:
    """Median seconds to predict one sentence, and seconds per sentence in one 1,000 batch."""
    one = []
    for i in range(repeats):
        start = time.perf_counter()
        clf.predict_proba([texts[i % len(texts)]])
        one.append(time.perf_counter() - start)
    batch = (texts * (1000 // len(texts) + 1))[:1000]
    start = time.perf_counter()
    clf.predict_proba(batch, batch_size=1000)
    return statistics.median(one), (time.perf_counter() - start) / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="2 epochs per model (smoke test)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--distributed", action="store_true",
                    help="training throughput with 1 and 2 processes (torchrun, gloo) instead")
    ap.add_argument("--epochs", type=int, default=1, help="epochs of the --distributed runs")
    ap.add_argument("--limit", type=int, default=None,
                    help="first N training sentences in the --distributed runs")
    ap.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ddp_worker:
        return ddp_worker(args.epochs, args.limit)
    if args.distributed:
        return distributed(args.epochs, args.limit)
    split = rt_split()
    train, valid, test = split["train"], split["valid"], split["test"]
    print(f"rt-sentences: train {len(train[0])}, valid {len(valid[0])}, test {len(test[0])}; "
          f"device {args.device}, {torch.get_num_threads()} threads")

    rows = []
    start = time.perf_counter()
    bow = BowLogisticRegression(ngrams=2, C=1.0).fit(*train)
    bow_s = time.perf_counter() - start
    bow_m = bow.evaluate(*test)
    rows.append(("BoW logistic regression (1-2 grams)", [bow_m["accuracy"]], [bow_m["macro_f1"]],
                 len(train[0]) / bow_s, None, None))
    try:  # the same model in scikit-learn, when installed: a check of ours
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression

        vec = CountVectorizer(tokenizer=bow.tokenizer_, lowercase=False, ngram_range=(1, 2),
                              binary=True, token_pattern=None)
        sk = LogisticRegression(C=1.0, max_iter=2000).fit(vec.fit_transform(train[0]), train[1])
        print(f"scikit-learn's LogisticRegression on the same features: test accuracy "
              f"{sk.score(vec.transform(test[0]), test[1]):.4f} (ours {bow_m['accuracy']:.4f})")
    except ImportError:
        print("scikit-learn not installed: no cross-check of the baseline")

    for name, kw in MODELS.items():
        kw = dict(kw, device=args.device, epochs=2 if args.quick else kw["epochs"])
        accs, f1s, rates, probas = [], [], [], []
        for seed in range(args.seeds):
            clf = TextClassifier(**kw, seed=seed).fit(*train, valid=valid)
            m = clf.evaluate(*test)
            accs.append(m["accuracy"])
            f1s.append(m["macro_f1"])
            # throughput of the training epochs (sentences/s), validation excluded
            rates.append(sum(h["items"] for h in clf.history_)
                         / sum(h["seconds"] for h in clf.history_))
            probas.append(clf.predict_proba(test[0]))
            print(f"  {name} seed {seed}: test acc {m['accuracy']:.4f} F1 {m['macro_f1']:.4f} "
                  f"(best epoch {clf.best_epoch_}/{len(clf.history_)}, "
                  f"{clf.fit_seconds_:.0f} s)" + (f", vector coverage "
                  f"{clf.coverage_['type_coverage']:.1%} of training types"
                  if clf.coverage_ else ""))
        one, per_item = latency(clf, test[0], repeats=50)
        rows.append((name, accs, f1s, statistics.mean(rates), one, per_item))
        if args.seeds > 1:
            # average the seeds' probabilities: one more point of comparison, not a new model
            vote = np.mean(probas, axis=0).argmax(1)
            truth = [clf.classes_.index(y) for y in test[1]]
            m = classification_metrics(truth, vote, clf.classes_)
            rows.append((f"  ensemble of the {args.seeds} seeds", [m["accuracy"]],
                         [m["macro_f1"]], None, None, None))

    print()
    print(f"{'model':40s} {'test acc (mean ± sd)':>22s} {'macro F1':>9s} {'ratio vs BoW':>12s} "
          f"{'train sent/s':>12s} {'1 sent ms':>9s} {'batch ms/sent':>13s}")
    base = bow_m["accuracy"]
    for name, accs, f1s, rate, one, per_item in rows:
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        acc = f"{statistics.mean(accs):.4f} ± {sd:.4f}" if len(accs) > 1 else f"{accs[0]:.4f}"
        f1 = statistics.mean(f1s)
        print(f"{name:40s} {acc:>22s} {f1:9.4f} {statistics.mean(accs) / base:12.3f} "
              f"{'' if rate is None else f'{rate:.0f}':>12s} "
              f"{'' if one is None else f'{one * 1e3:.2f}':>9s} "
              f"{'' if per_item is None else f'{per_item * 1e3:.3f}':>13s}")
    print("goal: >= 0.80 test accuracy (pretrained vectors allowed)")


if __name__ == "__main__":
    main()
