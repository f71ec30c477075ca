"""word2vec's numba kernel on every core: the CPU peer a GPU machine's torch path must beat.

``bench_word2vec.py --torch-path`` compares the torch path with the numba kernel on one thread
(the README's table); on a machine with a GPU, ``--device auto`` decides between the GPU and
all of the CPU's cores, so this times the kernel with ``--workers`` threads (default: every
core) on the same glosses, hyper-parameters and seed, words/s counted the same way.

    PYTHONPATH=src python3 benchmarks/gpu/w2v_cores.py [--epochs 5] [--methods skipgram,cbow]
        [--workers N] [--glosses N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: _embed
from _embed import W2V_PARAMS, glosses, load_note  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--methods", default="skipgram,cbow")
    p.add_argument("--workers", type=int, default=os.cpu_count())
    p.add_argument("--glosses", type=int, default=None, help="only the first N glosses")
    p.add_argument("--json", type=Path, help="write the rows here")
    args = p.parse_args()

    from dlcourse.embeddings import Word2Vec

    sentences = glosses()[:args.glosses]
    words = sum(len(s) for s in sentences)
    params = dict(W2V_PARAMS, epochs=args.epochs, seed=0, backend="numba", workers=args.workers)
    for method in args.methods.split(","):  # compile (or load numba's on-disk cache) untimed;
        # a later process, bench_word2vec.py's, then finds the kernels compiled
        Word2Vec(method, **{**params, "epochs": 1, "min_count": 1}).fit(sentences[:2000])
    print(f"WordNet glosses ({len(sentences)} sentences, {words} words), {args.epochs} epochs, "
          f"numba on {args.workers} threads; {load_note()}")
    rows = []
    for method in args.methods.split(","):
        start = time.perf_counter()
        model = Word2Vec(method, **params).fit(sentences)
        seconds = time.perf_counter() - start
        rows.append({"method": method, "workers": args.workers, "epochs": args.epochs,
                     "words": words, "seconds": seconds,
                     "words_per_s": words * args.epochs / seconds,
                     "final_loss": model.history_[-1]["loss"]})
        print(f"{method:>8} numba x{args.workers}: {rows[-1]['words_per_s']:,.0f} words/s "
              f"({seconds:.1f} s), final loss {rows[-1]['final_loss']:.3f}", flush=True)
        if args.json:
            args.json.write_text(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
