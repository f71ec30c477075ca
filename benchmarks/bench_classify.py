"""Movie-review sentiment (the 10,568 rated Rotten Tomatoes sentences): test accuracy of every
classifier over several seeds on the fixed 80/10/10 split against a bag-of-words logistic
regression fitted in the same run, a 10-fold cross-validation figure of the default recipe (Kim
2014's protocol), and training throughput and prediction latency on this CPU, the previous
default's measured beside the new one's.

    python benchmarks/bench_classify.py            # 3 seeds + 10 folds (about an hour, 2 cores)
    python benchmarks/bench_classify.py --seeds 1 --folds 0 --quick    # smoke test
    python benchmarks/bench_classify.py --only CNN --folds 0           # rows whose name matches
    python benchmarks/bench_classify.py --distributed   # sentences/s with 1 and 2 processes
    python benchmarks/bench_classify.py --speed 3       # paired sent/s and latency, 3 rounds
    python benchmarks/bench_classify.py --only minilm --seeds 1 --folds 0 --threads 2
        # the fine-tuned MiniLM (opt-in: 2 epochs, about 5 minutes on 2 threads)
    python benchmarks/bench_classify.py --domain amazon # 10-fold on another domain's sentences
    python benchmarks/bench_classify.py --only distilled --folds 0 --teacher runs/minilm
        # the CNN on GloVe distilled from a saved classifier (trained first, on the same fixed
        # split, with: dlcourse classify train rt-sentences --model minilm --out runs/minilm)

Runs are seed-major (every model with seed 0, then every model with seed 1 ...), so the load of
other processes drifts over all rows alike; timings are medians. Each network runs with one
intra-op thread (``--threads``).

Targets (issue 18): >= 81.5% mean test accuracy over 3 seeds with the defaults
(``TextClassifier()``: the CNN with its n-gram score on GloVe + minilm-words); training
throughput and prediction latency not worse than the previous default's. Published 10-fold MR
figures (Kim 2014): NB 79.0, NBSVM-bigram 79.4, CNN-rand 76.1, CNN-static 81.0, CNN-non-static
81.5 (word2vec 300d).
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
from dlcourse.classify.config import MINILM_DEFAULTS
from dlcourse.classify.data import kfold, load_rated_sentences
from dlcourse.classify.encoding import class_indices
from dlcourse.data.readers import RATED_SENTENCES
from dlcourse.engine.distributed import launch, time_all_reduce

# the training settings of main before issue 18 (d649ae5): no word dropout, no adversarial
# training, Adam at 2e-3 on batches of 64, no extra GloVe words unless asked, no weight average
BEFORE = dict(word_dropout=0.0, adversarial=0.0, batch_size=64, lr=2e-3, pretrained_vocab=0,
              ema_span=0.0)
GLOVE = dict(pretrained="glove-6b-50d")

MODELS = {
    # the lesson's first model: Embedding -> RNN -> Linear, last hidden state, random embeddings
    "lesson RNN (random emb.)": dict(model="rnn", num_layers=1, bidirectional=False,
                                     pooling="last", embed_dim=100, hidden_size=128,
                                     dropout=0.3, pretrained=None, epochs=8, **BEFORE),
    # what `classify train --pretrained glove-6b-50d` trained before: 2-layer BiLSTM h=128
    "previous default (2-layer BiLSTM, GloVe)": dict(model="lstm", hidden_size=128, num_layers=2,
                                                     dropout=0.3, epochs=10, **BEFORE, **GLOVE),
    # the best recipe before: BiGRU-max h=100, GloVe fine-tuned with 50k GloVe words
    "previous best (BiGRU h=100, GloVe)": dict(model="gru", num_layers=1, hidden_size=100,
                                               dropout=0.5, epochs=8,
                                               **{**BEFORE, "pretrained_vocab": 50000}, **GLOVE),
    # the same BiGRU with the new training (word dropout, adversarial, 50k GloVe words)
    "BiGRU h=100, GloVe, new training": dict(model="gru", num_layers=1, hidden_size=100,
                                             dropout=0.5, **GLOVE),
    "Transformer, GloVe": dict(model="transformer", **GLOVE),
    # Kim's CNN-static: the vectors frozen (a reference point, not a recipe)
    "CNN-static (GloVe frozen)": dict(freeze=True, **GLOVE),
    # word2vec trained on the training sentences (the default before minilm-words)
    "CNN, word2vec of the training texts (--pretrained word2vec)": dict(pretrained="word2vec"),
    # GloVe alone (the default recipe before minilm-words)
    "CNN, GloVe only (--pretrained glove-6b-50d)": dict(**GLOVE),
    # the defaults before the n-gram score: GloVe beside 100-d minilm-words vectors
    "CNN, GloVe + MiniLM words, no n-gram score (--ngrams 0)": dict(ngrams=0),
    # the defaults: the same with a score over the words and word pairs (--ngrams 2)
    "CNN + n-gram score, GloVe + MiniLM words (the defaults)": dict(),
    # all-MiniLM-L6-v2 fine-tuned with its recipe (ClassifierConfig.minilm())
    "MiniLM-L6 fine-tuned (--model minilm)": dict(MINILM_DEFAULTS),
}
#: rows run only when --only names them (they would make the default run much longer)
OPT_IN = ("MiniLM-L6 fine-tuned (--model minilm)",)
DEFAULT_RECIPE = "CNN + n-gram score, GloVe + MiniLM words (the defaults)"
NO_NGRAMS = "CNN, GloVe + MiniLM words, no n-gram score (--ngrams 0)"
GLOVE_ONLY = "CNN, GloVe only (--pretrained glove-6b-50d)"
#: the row --teacher adds: the CNN on GloVe alone distilled from that saved classifier (the
#: recipe measured before minilm-words became the default)
DISTILLED = "CNN, GloVe only, distilled from --teacher (4 copies)"
PREVIOUS = "previous default (2-layer BiLSTM, GloVe)"

# the data-parallel throughput run: one BiGRU, random embeddings, global batch 64, no dropout
DDP_MODEL = dict(model="gru", num_layers=1, embed_dim=64, hidden_size=64, dropout=0.0,
                 word_dropout=0.0, adversarial=0.0, pretrained=None, batch_size=64,
                 patience=None, device="cpu")


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


def latency(clf: TextClassifier, texts: list[str], repeats: int = 50) -> tuple[float, float]:
    """Median seconds to predict one sentence, and seconds per sentence in one 1,000 batch,
    after one untimed pass (a recurrent model's first calls after training pay a warm-up that
    a served model does not: timed cold, the BiLSTM's 1-sentence latency was twice its own)."""
    for i in range(repeats):
        clf.predict_proba([texts[i % len(texts)]])
    one = []
    for i in range(repeats):
        start = time.perf_counter()
        clf.predict_proba([texts[i % len(texts)]])
        one.append(time.perf_counter() - start)
    batch = (texts * (1000 // len(texts) + 1))[:1000]
    start = time.perf_counter()
    clf.predict_proba(batch, batch_size=1000)
    return statistics.median(one), (time.perf_counter() - start) / 1000


def train_rate(clf: TextClassifier) -> float:
    """Training sentences per second over the training epochs (validation excluded)."""
    return sum(h["items"] for h in clf.history_) / sum(h["seconds"] for h in clf.history_)


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def fixed_split(models: dict, seeds: int, device: str, quick: bool) -> dict:
    """Every model with every seed on the fixed split, seed-major; results per model."""
    split = rt_split()
    train, valid, test = split["train"], split["valid"], split["test"]
    print(f"rt-sentences: train {len(train[0])}, valid {len(valid[0])}, test {len(test[0])}; "
          f"device {device}, {torch.get_num_threads()} thread(s)")
    start = time.perf_counter()
    bow = BowLogisticRegression(ngrams=2, C=1.0).fit(*train)
    bow_s = time.perf_counter() - start
    results = {"BoW logistic regression (1-2 grams)": dict(
        acc=[bow.evaluate(*test)["accuracy"]], valid=[bow.evaluate(*valid)["accuracy"]],
        f1=[bow.evaluate(*test)["macro_f1"]], rate=[len(train[0]) / bow_s], fit=[bow_s])}
    probas: dict[str, list] = {}
    for seed in range(seeds):
        for name, kw in models.items():
            kw = dict(kw, device=device, seed=seed)
            if quick:
                kw["epochs"] = 2
            clf = TextClassifier(**kw).fit(*train, valid=valid)
            m = clf.evaluate(*test)
            r = results.setdefault(name, dict(acc=[], valid=[], f1=[], rate=[], fit=[],
                                              epochs=[]))
            r["acc"].append(m["accuracy"])
            r["f1"].append(m["macro_f1"])
            r["valid"].append(max(h["valid_acc"] for h in clf.history_))
            r["rate"].append(train_rate(clf))
            r["fit"].append(clf.fit_seconds_)
            r["epochs"].append(f"{clf.best_epoch_}/{len(clf.history_)}")
            r["clf"] = clf
            probas.setdefault(name, []).append(clf.predict_proba(test[0]))
            print(f"  seed {seed} {name}: test {m['accuracy']:.4f}, valid "
                  f"{r['valid'][-1]:.4f}, best epoch {r['epochs'][-1]}, fit "
                  f"{clf.fit_seconds_:.0f} s, {r['rate'][-1]:.0f} sent/s", flush=True)
    truth = None
    for name, r in results.items():
        if "clf" in r:
            r["latency"] = latency(r["clf"], test[0])
            if seeds > 1:  # the seeds' averaged probabilities: an ensemble, for comparison
                truth = class_indices(test[1], r["clf"].classes_)
                vote = np.mean(probas[name], axis=0).argmax(1)
                r["ensemble"] = classification_metrics(truth, vote, r["clf"].classes_)["accuracy"]
    return results


def paired_latency(results: dict, texts: list[str], rounds: int = 5) -> None:
    """The previous default's and the default recipe's latencies, measured in alternation."""
    if PREVIOUS not in results or DEFAULT_RECIPE not in results:
        return
    a, b = results[PREVIOUS]["clf"], results[DEFAULT_RECIPE]["clf"]
    pairs = [(latency(a, texts), latency(b, texts)) for _ in range(rounds)]
    for i, name in enumerate(("one sentence", "per sentence in a batch of 1,000")):
        before = statistics.median(p[0][i] for p in pairs)
        after = statistics.median(p[1][i] for p in pairs)
        print(f"latency, {name}: previous default {before * 1e3:.3f} ms, default recipe "
              f"{after * 1e3:.3f} ms (ratio {after / before:.2f}; median of {rounds} "
              "alternating rounds)")
    before = statistics.median(results[PREVIOUS]["rate"])
    after = statistics.median(results[DEFAULT_RECIPE]["rate"])
    print(f"training throughput: previous default {before:.0f} sent/s, default recipe "
          f"{after:.0f} sent/s (ratio {after / before:.2f}; medians over the seeds)")


def speed(rounds: int, device: str) -> None:
    """Training sentences/s and prediction latency of the previous default, the CNN on GloVe
    alone and the default recipe without and with its n-gram score: 2 epochs each, the four in
    turn, ``rounds`` times (medians of paired runs, so the machine's load drifts over all
    alike)."""
    split = rt_split()
    texts = split["test"][0]
    names = (PREVIOUS, GLOVE_ONLY, NO_NGRAMS, DEFAULT_RECIPE)
    rows = {name: dict(rate=[], one=[], batch=[]) for name in names}
    for seed in range(rounds):
        for name in names:
            kw = dict(MODELS[name], epochs=2, device=device, seed=seed)
            clf = TextClassifier(**kw).fit(*split["train"], valid=split["valid"])
            one, per_item = latency(clf, texts)
            for key, value in zip(("rate", "one", "batch"), (train_rate(clf), one, per_item)):
                rows[name][key].append(value)
            print(f"  round {seed} {name}: {train_rate(clf):.0f} sent/s, {one * 1e3:.2f} ms",
                  flush=True)
    base = {key: statistics.median(rows[PREVIOUS][key]) for key in ("rate", "one", "batch")}
    print(f"\n{'model':56s} {'sent/s':>7s} {'x prev':>7s} {'1 sent ms':>9s} {'x prev':>7s} "
          f"{'batch ms':>8s}")
    for name, r in rows.items():
        rate, one, per_item = (statistics.median(r[k]) for k in ("rate", "one", "batch"))
        print(f"{name:56s} {rate:7.0f} {rate / base['rate']:7.2f} {one * 1e3:9.2f} "
              f"{one / base['one']:7.2f} {per_item * 1e3:8.3f}")
    print(f"(medians of {rounds} rounds; x prev: against the previous default, "
          "higher sent/s and lower ms are better)")


def cross_validation(folds: int, device: str, quick: bool, domain: str = "movies") -> None:
    """The default recipe, the same without its n-gram score, the CNN on GloVe alone and the
    baseline, ``folds``-fold on all of one domain's rated sentences (movies: the 10,568
    above)."""
    texts, labels = load_rated_sentences(domain)
    bow, networks = "BoW logistic regression", (DEFAULT_RECIPE, NO_NGRAMS, GLOVE_ONLY)
    rows: dict[str, list[float]] = {name: [] for name in (bow, *networks)}
    print(f"\n{domain}: {len(texts):,} rated sentences, {labels.count('pos'):,} positive",
          flush=True)
    for i, (train, valid, test) in enumerate(kfold(texts, labels, folds, seed=0)):
        rows[bow].append(BowLogisticRegression(ngrams=2).fit(*train).evaluate(*test)["accuracy"])
        for name in networks:
            kw = dict(MODELS[name], device=device, seed=i)
            if quick:
                kw["epochs"] = 2
            rows[name].append(
                TextClassifier(**kw).fit(*train, valid=valid).evaluate(*test)["accuracy"])
        print(f"  fold {i}: " + ", ".join(f"{name} {accs[-1]:.4f}" for name, accs in rows.items()),
              flush=True)
    print(f"\n{folds}-fold cross-validation on {domain} (Kim's protocol: each fold the test set "
          "once, 10% of the rest for early stopping), test accuracy mean ± sd over folds:")
    for name, accs in rows.items():
        print(f"  {name:52s} {mean_sd(accs)}")
    if domain == "movies":
        print("  published (MR, Kim 2014): NB 79.0, NBSVM 79.4, CNN-static 81.0, "
              "CNN-non-static 81.5")


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--folds", type=int, default=10, help="cross-validation folds (0: none)")
    ap.add_argument("--only", default=None, help="only the models whose name holds this text")
    ap.add_argument("--quick", action="store_true", help="2 epochs per model (smoke test)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--distributed", action="store_true",
                    help="training throughput with 1 and 2 processes (torchrun, gloo) instead")
    ap.add_argument("--epochs", type=int, default=1, help="epochs of the --distributed runs")
    ap.add_argument("--limit", type=int, default=None,
                    help="first N training sentences in the --distributed runs")
    ap.add_argument("--speed", type=int, default=0, metavar="ROUNDS",
                    help="only the paired throughput/latency of the previous default, the CNN "
                         "on GloVe alone, the defaults and the defaults without the n-gram "
                         "score (--ngrams 0) (2 epochs each, ROUNDS rounds)")
    ap.add_argument("--teacher", default=None, metavar="MODEL_DIR",
                    help="add the row of the default recipe distilled from this classifier "
                         "(trained on the same fixed split)")
    ap.add_argument("--domain", default="movies", choices=sorted(RATED_SENTENCES),
                    help="other than movies: only the cross-validation, on Hutto & Gilbert's "
                         "rated sentences of that domain (data set hutto-sentences), which "
                         "nothing here was tuned on")
    ap.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ddp_worker:
        return ddp_worker(args.epochs, args.limit)
    if args.distributed:
        return distributed(args.epochs, args.limit)
    torch.set_num_threads(args.threads)
    if args.speed:
        return speed(args.speed, args.device)
    if args.domain != "movies":  # no fixed split there: the cross-validation alone
        return cross_validation(args.folds or 10, args.device, args.quick, args.domain)
    if args.teacher:
        MODELS[DISTILLED] = dict(GLOVE, teacher=args.teacher)
    models = {k: v for k, v in MODELS.items()
              if (args.only is None and k not in OPT_IN) or (args.only and args.only in k)}
    if args.only and not models:  # the baseline always runs
        print(f"note: --only {args.only!r} matched no model; the baseline alone runs",
              file=sys.stderr)
    results = fixed_split(models, args.seeds, args.device, args.quick)
    base = statistics.mean(results["BoW logistic regression (1-2 grams)"]["acc"])
    width = max(50, *map(len, results))
    print(f"\n{'model':{width}s} {'test acc (mean ± sd)':>20s} {'valid':>7s} {'vs BoW':>7s} "
          f"{'ens.':>7s} {'fit s':>6s} {'sent/s':>7s} {'1 sent ms':>9s} {'batch ms':>8s}")
    for name, r in results.items():
        one, per_item = r.get("latency", (None, None))
        ens = f"{r['ensemble']:.4f}" if "ensemble" in r else ""
        print(f"{name:{width}s} {mean_sd(r['acc']):>20s} {statistics.mean(r['valid']):7.4f} "
              f"{statistics.mean(r['acc']) - base:+7.4f} {ens:>7s} "
              f"{statistics.median(r['fit']):6.0f} {statistics.median(r['rate']):7.0f} "
              f"{'' if one is None else f'{one * 1e3:.2f}':>9s} "
              f"{'' if per_item is None else f'{per_item * 1e3:.3f}':>8s}")
    print("(valid: mean best-epoch validation accuracy; ens.: the seeds' averaged probabilities; "
          "fit s: median wall time of fit, vectors included; batch ms: per sentence in a batch "
          "of 1,000)")
    paired_latency(results, rt_split()["test"][0])
    if args.folds:
        cross_validation(args.folds, args.device, args.quick)


if __name__ == "__main__":
    main()
