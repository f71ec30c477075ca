"""Word2Vec throughput and quality: dlcourse's numba kernel against gensim 4.4 in the same run.

Same corpus (WordNet glosses, 1.46M words, tokenized in memory), same hyper-parameters, both
with workers = cores. Each training runs in its own child process (so that its peak RSS is its
own), after a warm-up on a tiny corpus (imports, numba's on-disk cache). Words/s counts the
corpus words times epochs over the wall time of vocabulary building plus training. For every
seed the two implementations run back to back, in alternating order (the load of other
processes drifts over minutes); the ratio is the median of the per-seed paired ratios, with
their spread. Quality (WordSim-353 and SimLex-999 Spearman rho, Google analogy accuracy) is
the mean over the seeds: one seed's analogy accuracy varies by about +-0.004 here. SimLex-999
is the copy in gensim's wheel (``gensim/test/test_data/simlex999.txt``).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_word2vec.py [--epochs 5]
        [--methods skipgram,cbow] [--seeds 0,1,2]

The whole commands (``dlcourse embed train FILE`` against a gensim script reading the same
file) are timed by ``benchmarks/bench_embed_cli.py``.

``--distributed`` measures the torch path under torchrun (gloo, one thread per process) on the
first ``--glosses`` glosses: words/s with 1 and 2 processes (the same global batch, so the same
model to float rounding; it prints the largest difference), the share of the time spent in the
per-step all-gather, and as the single-process peer the numba kernel with 2 threads:

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/bench_word2vec.py --distributed
        [--epochs 1] [--methods skipgram] [--glosses 20000] [--batch-size 16384]

``--torch-path 1024,16384`` runs the torch path (the GPU's) at those batch sizes on
``--device`` (default cpu; cuda on a GPU machine) against the numba kernel on one thread, on
the glosses: the torch operations per 1,024 predictions (each at least one kernel launch on a
GPU; profiled on the Lee corpus on the CPU), words/s, final loss and quality (one seed):

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/bench_word2vec.py
        --torch-path 1024,16384 [--epochs 5] [--methods skipgram,cbow] [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _embed import W2V_PARAMS, glosses, load_note, quality, quality_lines, spread  # noqa: E402
from dlcourse.embeddings.config import Word2VecConfig  # noqa: E402

corpus = glosses


def child(impl: str, method: str, epochs: int, workers: int, seed: int) -> dict:
    """Train one model (after a warm-up) and return timing, quality and peak RSS."""
    from dlcourse.embeddings import KeyedVectors

    sentences = corpus()
    words = sum(len(s) for s in sentences)
    params = dict(W2V_PARAMS, epochs=epochs, workers=workers, seed=seed)
    if impl == "gensim":
        from gensim.models import Word2Vec as GensimW2V

        def train(data, **kw):
            model = GensimW2V(data, sg=int(method == "skipgram"), **{**params, **kw})
            return KeyedVectors(model.wv.index_to_key, model.wv.vectors)
    else:
        from dlcourse.embeddings import Word2Vec

        def train(data, **kw):
            return Word2Vec(method=method, **{**params, **kw}).fit(data).wv
    train(sentences[:2000], epochs=1, min_count=1)  # warm-up: imports, numba cache load
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    kv = train(sentences)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    return {"impl": impl, "method": method, "seed": seed, "seconds": seconds,
            "cpu_seconds": cpu, "words_per_s": words * epochs / seconds, **quality(kv),
            "vocab": len(kv), "peak_rss_mb": after.ru_maxrss / 1024}


def distributed_child(args) -> None:
    """One torchrun process: train on the first glosses; rank 0 writes timings and vectors."""
    import numpy as np

    from dlcourse.embeddings import Word2Vec
    from dlcourse.engine.distributed import (
        init_distributed,
        is_main_process,
        shutdown_distributed,
        world_size,
    )

    out, backend, method = args.child_distributed
    init_distributed("cpu")
    sentences = corpus()[:args.glosses]
    words = sum(len(s) for s in sentences)
    params = dict(method=method, vector_size=100, window=5, min_count=5, epochs=args.epochs,
                  workers=args.workers, seed=0, backend=backend, batch_size=args.batch_size)
    Word2Vec(**{**params, "epochs": 1, "min_count": 1}).fit(sentences[:200])  # warm-up
    start = time.perf_counter()
    model = Word2Vec(**params).fit(sentences)
    seconds = time.perf_counter() - start
    if is_main_process():
        np.save(f"{out}.npy", model.wv.vectors)
        Path(out).write_text(json.dumps({
            "backend": backend, "method": method, "processes": world_size(),
            "threads": args.workers, "seconds": seconds, "words": words,
            "words_per_s": words * args.epochs / seconds, "comm_seconds": model.comm_seconds_}))
    shutdown_distributed()


def distributed(args) -> None:
    """The torch path with 1 and 2 processes, and the numba kernel on 2 threads as the peer."""
    import numpy as np

    from dlcourse.engine.distributed import launch

    print(f"WordNet glosses [:{args.glosses}], epochs={args.epochs}, dim=100, window=5, "
          f"negative=5, batch {args.batch_size} (global), {os.cpu_count()} cores (shared: load "
          f"{os.getloadavg()[0]:.1f})")
    print(f"{'method':>8} {'backend':>7} {'processes':>9} {'threads':>7} {'words/s':>9} "
          f"{'comm %':>6} {'max |diff| vs 1 process':>24}")
    for method in args.methods.split(","):
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for backend, nproc, threads in [("torch", 1, 1), ("torch", 2, 1), ("numba", 1, 2)]:
                out = Path(tmp) / f"{backend}{nproc}"
                launch([__file__, "--epochs", args.epochs, "--workers", threads,
                        "--glosses", args.glosses, "--batch-size", args.batch_size,
                        "--child-distributed", out, backend, method],
                       nproc, capture=False, check=True)
                rows.append({**json.loads(out.read_text()),
                             "vectors": np.load(f"{out}.npy")})
        for r in rows:
            diff = (f"{np.abs(r['vectors'] - rows[0]['vectors']).max():.2g}"
                    if r["backend"] == "torch" else "(another algorithm)")
            print(f"{method:>8} {r['backend']:>7} {r['processes']:>9} {r['threads']:>7} "
                  f"{r['words_per_s']:9.0f} {100 * r['comm_seconds'] / r['seconds']:6.1f} "
                  f"{diff:>24}")
        one, two, peer = rows
        print(f"{method}: torch 2 processes: ratio vs 1 process "
              f"{two['words_per_s'] / one['words_per_s']:.2f}x, ratio vs numba 1 process x 2 "
              f"threads {two['words_per_s'] / peer['words_per_s']:.2f}x")


def torch_ops(method: str, batch_size: int) -> tuple[float, float]:
    """Top-level torch operations (each at least one kernel launch on a GPU) per 1,024
    predictions of the torch path, and its loss, on one epoch of the Lee corpus (profiled)."""
    from torch.profiler import ProfilerActivity, profile

    from dlcourse.data.readers import read_lee
    from dlcourse.embeddings import Word2Vec, _torch_w2v, tokenize

    sentences = [tokenize(d) for d in read_lee()]
    params = dict(vector_size=100, min_count=2, epochs=1, seed=1, backend="torch",
                  device="cpu", batch_size=batch_size)
    Word2Vec(method, **params).fit(sentences[:20])  # warm-up
    predictions = [0]
    step = _torch_w2v.TorchTrainer._step

    def counted(self, inputs, *args):
        predictions[0] += len(inputs)
        return step(self, inputs, *args)

    _torch_w2v.TorchTrainer._step = counted
    try:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            model = Word2Vec(method, **params).fit(sentences)
    finally:
        _torch_w2v.TorchTrainer._step = step
    ops = sum(1 for e in prof.events() if e.name.startswith("aten::") and e.cpu_parent is None)
    return ops / predictions[0] * 1024, model.history_[-1]["loss"]


def torch_path(args) -> None:
    """The torch path (on ``--device``) at several batch sizes against the numba kernel (1 CPU
    thread)."""
    import torch

    from dlcourse.embeddings import Word2Vec

    torch.set_num_threads(1)
    sentences = corpus()
    words = sum(len(s) for s in sentences)
    print(f"WordNet glosses, epochs={args.epochs}, seed 0, 1 thread, torch on {args.device}; "
          f"torch ops profiled on Lee (CPU); start: {load_note()}")
    print(f"{'method':>8} {'path':>13} {'ops/1024':>8} {'words/s':>8} {'x numba':>7} "
          f"{'loss':>6} {'wordsim':>7} {'simlex':>7} {'analogy':>7}")
    for method in args.methods.split(","):
        runs = [("numba", None)] + [("torch", int(b)) for b in args.torch_path.split(",")]
        numba_rate = None  # the peer, measured first in the same run (one run each)
        for backend, batch in runs:
            params = dict(W2V_PARAMS, epochs=args.epochs, seed=0, backend=backend)
            if batch is None:
                params["workers"] = 1  # one thread: the torch path runs on one too
            else:
                params.update(batch_size=batch, device=args.device)
            start = time.perf_counter()
            model = Word2Vec(method, **params).fit(sentences)
            seconds = time.perf_counter() - start
            ops = f"{torch_ops(method, batch)[0]:8.1f}" if batch else f"{'-':>8}"
            q = quality(model.wv)
            name = "numba" if batch is None else f"torch {batch}"
            rate = words * args.epochs / seconds
            numba_rate = numba_rate or rate
            print(f"{method:>8} {name:>13} {ops} {rate:8.0f} {rate / numba_rate:7.2f} "
                  f"{model.history_[-1]['loss']:6.3f} {q['wordsim_rho']:7.4f} "
                  f"{q['simlex_rho']:7.4f} {q['analogy_acc']:7.4f}", flush=True)
    print(f"end: {load_note()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--methods", default="skipgram,cbow")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--seeds", default="0,1,2",
                        help="one run per seed and implementation, in alternating order")
    parser.add_argument("--child", nargs=3, metavar=("IMPL", "METHOD", "SEED"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--distributed", action="store_true",
                        help="the torch path with 1 and 2 torchrun processes (see above)")
    parser.add_argument("--glosses", type=int, default=20000,
                        help="with --distributed: train on the first N glosses")
    parser.add_argument("--batch-size", type=int, default=Word2VecConfig().batch_size,
                        help="with --distributed: the global batch of the torch path")
    parser.add_argument("--child-distributed", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--torch-path", metavar="BATCHES",
                        help="the torch path on the CPU at these batch sizes (e.g. 1024,16384) "
                             "against the numba kernel: ops per 1,024 predictions, speed, "
                             "quality")
    parser.add_argument("--device", default="cpu",
                        help="with --torch-path: where the torch path trains (cpu, cuda)")
    args = parser.parse_args()
    if args.torch_path:
        torch_path(args)
        return
    if args.child_distributed:
        distributed_child(args)
        return
    if args.distributed:
        distributed(args)
        return
    if args.child:
        impl, method, seed = args.child
        print(json.dumps(child(impl, method, args.epochs, args.workers, int(seed))))
        return
    seeds = [int(x) for x in args.seeds.split(",")]
    methods = args.methods.split(",")
    print(f"start: {load_note()}", flush=True)
    rows = []
    for method in methods:
        for n, seed in enumerate(seeds):
            # alternate who goes first: load from other processes drifts over minutes
            for impl in (("gensim", "dlcourse") if n % 2 == 0 else ("dlcourse", "gensim")):
                out = subprocess.run([sys.executable, __file__, "--epochs", str(args.epochs),
                                      "--workers", str(args.workers), "--child", impl, method,
                                      str(seed)], check=True, capture_output=True, text=True)
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print({k: round(v, 4) if isinstance(v, float) else v
                       for k, v in rows[-1].items()}, flush=True)
    print(f"\nWordNet glosses, epochs={args.epochs}, workers={args.workers}, dim=100, window=5, "
          f"negative=5, min_count=5, sample=1e-3, seeds={seeds}; end: {load_note()}")
    print(f"{'method':>9} {'impl':>9} {'words/s median [min-max]':>26} {'cpu s median':>12} "
          f"{'peak RSS MB':>11}")
    for method in methods:
        for impl in ("gensim", "dlcourse"):
            runs = [r for r in rows if r["method"] == method and r["impl"] == impl]
            print(f"{method:>9} {impl:>9} "
                  f"{spread([r['words_per_s'] / 1e6 for r in runs]) + 'M':>26} "
                  f"{statistics.median(r['cpu_seconds'] for r in runs):12.2f} "
                  f"{max(r['peak_rss_mb'] for r in runs):11.0f}")
    for method in methods:
        pairs = [(r, q) for r in rows for q in rows if r["method"] == q["method"] == method
                 and r["seed"] == q["seed"] and r["impl"] == "dlcourse" and q["impl"] == "gensim"]
        ratios = [r["words_per_s"] / q["words_per_s"] for r, q in pairs]
        cpu = [q["cpu_seconds"] / r["cpu_seconds"] for r, q in pairs]
        print(f"{method}: ratio vs gensim (paired runs, median [min-max]): words/s "
              f"{spread(ratios)}x (target >= 2), CPU time {spread(cpu)}x less")
    for line in quality_lines(rows, "gensim", "dlcourse", "method"):
        print(line)


if __name__ == "__main__":
    main()
