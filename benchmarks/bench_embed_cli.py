"""Whole commands: ``dlcourse embed train FILE`` against gensim 4.4 reading the same file.

What a user times: start-up, imports, reading the file, vocabulary, training and saving, each
command a subprocess timed from the outside (wall clock; its own peak RSS from GNU time).
The corpus is the WordNet glosses written one gloss a line, words separated by blanks (1.46M
words), so gensim's ``LineSentence`` (blank-separated) and dlcourse's tokenizer see the same
words. Three commands per method and repetition, in rotating order (the load of other
processes drifts over minutes):

- ``dlcourse``: ``dlcourse embed train FILE --method M --dim 100 --window 5 --min-count 5
  --epochs 5 --seed R --out DIR`` as it is (on the CPU it imports no torch; it checks the file,
  writes the checkpoint ``last.safetensors`` and ``model.safetensors``);
- ``dlcourse-lib``: a Python process that runs the same training through the library and saves
  the vectors with numpy: the command less the CLI, its checks and its checkpoints;
- ``gensim``: a Python process running ``Word2Vec(LineSentence(FILE), sg=..., same settings,
  workers=2, seed=R)`` and ``model.save(...)``.

All three train on ``WORKERS`` (2) threads, whatever the environment's thread variables say.

Ratios are medians of the per-repetition ratios (paired: the commands ran back to back), with
their spread; quality (WordSim-353, SimLex-999, analogies) is the mean over the repetitions'
seeds of the saved vectors.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_embed_cli.py [--methods skipgram,cbow]
        [--reps 3] [--epochs 5]

``--scaling`` times the three commands once each on corpora of about 0.15M, 1.5M and 15M
words (the first tenth of the glosses, the glosses, the glosses ten times over) for the table in
``benchmarks/README.md``; ``--epochs`` applies (1 keeps the 15M row short).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
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
WORKERS = 2  # threads of every side (gensim's workers, --workers, Word2Vec(workers=))
PYTHON = sys.executable
DLCOURSE = str(Path(sys.executable).with_name("dlcourse"))

GENSIM_SCRIPT = """
import os, sys
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence
corpus, method, out, seed, epochs, workers = sys.argv[1:7]
model = Word2Vec(LineSentence(corpus), sg=int(method == "skipgram"), vector_size=100, window=5,
                 min_count=5, negative=5, sample=1e-3, alpha=0.025, min_alpha=1e-4,
                 epochs=int(epochs), workers=int(workers), seed=int(seed))
os.makedirs(out, exist_ok=True)
model.save(os.path.join(out, "model.gensim"))
"""

LIBRARY_SCRIPT = """
import json, os, sys
import numpy as np
from dlcourse.embeddings import Word2Vec
corpus, method, out, seed, epochs, workers = sys.argv[1:7]
model = Word2Vec(method=method, vector_size=100, window=5, min_count=5, negative=5,
                 sample=1e-3, alpha=0.025, min_alpha=1e-4, epochs=int(epochs),
                 workers=int(workers), seed=int(seed)).fit(corpus)
os.makedirs(out, exist_ok=True)
np.save(os.path.join(out, "vectors.npy"), model.wv.vectors)
with open(os.path.join(out, "words.json"), "w") as f:
    json.dump(model.wv.index_to_key, f)
"""


def command(impl: str, corpus: Path, method: str, out: Path, seed: int, epochs: int) -> list:
    """One side's command line; every side trains on ``WORKERS`` threads."""
    args = [str(corpus), method, str(out), str(seed), str(epochs), str(WORKERS)]
    if impl == "gensim":
        return [PYTHON, "-c", GENSIM_SCRIPT, *args]
    if impl == "dlcourse-lib":
        return [PYTHON, "-c", LIBRARY_SCRIPT, *args]
    return [DLCOURSE, "embed", "train", str(corpus), "--method", method, "--dim", "100",
            "--window", "5", "--min-count", "5", "--epochs", str(epochs), "--seed", str(seed),
            "--workers", str(WORKERS), "--out", str(out)]


def timed(cmd: list) -> tuple[float, float]:
    """Run ``cmd``; returns (wall seconds, peak RSS MB of the process)."""
    return run_timed(cmd, {**os.environ, "PYTHONPATH": str(ROOT / "src"),
                           "DLCOURSE_OFFLINE": "1"})


def vectors(impl: str, out: Path):
    """The saved vectors of one command as dlcourse KeyedVectors."""
    import numpy as np

    from dlcourse.embeddings import KeyedVectors

    if impl == "gensim":
        from gensim.models import Word2Vec

        model = Word2Vec.load(str(out / "model.gensim"))
        return KeyedVectors(model.wv.index_to_key, model.wv.vectors)
    if impl == "dlcourse-lib":
        return KeyedVectors(json.loads((out / "words.json").read_text()),
                            np.load(out / "vectors.npy"))
    return KeyedVectors.load(out)


def warm_up(corpus: Path, tmp: Path) -> None:
    """One tiny run of each command: numba's on-disk cache, the OS file cache, imports."""
    small = tmp / "warm.txt"
    small.write_text("".join(corpus.open().readlines()[:300]))
    for impl in ("dlcourse", "dlcourse-lib", "gensim"):
        for method in ("skipgram", "cbow"):
            timed(command(impl, small, method, tmp / "warm", 0, 1))


IMPLS = ("gensim", "dlcourse", "dlcourse-lib")


def paired(args, corpus: Path, tmp: Path) -> None:
    rows = []
    for method in args.methods.split(","):
        for rep in range(args.reps):
            order = IMPLS[rep % 3:] + IMPLS[:rep % 3]  # rotate who goes first
            for impl in order:
                out = tmp / f"{impl}-{method}-{rep}"
                seconds, rss = timed(command(impl, corpus, method, out, rep, args.epochs))
                rows.append({"impl": impl, "method": method, "seed": rep, "seconds": seconds,
                             "peak_rss_mb": rss, **quality(vectors(impl, out))})
                print({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()},
                      flush=True)
    print(f"\nwhole commands on {corpus.name}, epochs={args.epochs}, dim=100, window=5, "
          f"negative=5, min_count=5, {args.reps} repetitions; end: {load_note()}")
    for method in args.methods.split(","):
        runs = {impl: [r for r in rows if r["method"] == method and r["impl"] == impl]
                for impl in IMPLS}
        for impl in IMPLS:
            print(f"{method:>9} {impl:>13}: seconds {spread([r['seconds'] for r in runs[impl]])}"
                  f", peak RSS {max(r['peak_rss_mb'] for r in runs[impl]):.0f} MB")
        for impl in ("dlcourse", "dlcourse-lib"):
            ratios = [g["seconds"] / d["seconds"] for g, d in zip(runs["gensim"], runs[impl])]
            print(f"{method}: {impl} ratio vs gensim (whole command, paired, median [min-max]):"
                  f" {spread(ratios)}x (target >= 1.8)")
    for impl in ("dlcourse", "dlcourse-lib"):
        subset = [r for r in rows if r["impl"] in ("gensim", impl)]
        for line in quality_lines(subset, "gensim", impl, "method"):
            print(line)


def scaling(args, tmp: Path) -> None:
    sentences = glosses()
    sizes = [("0.15M", sentences[:len(sentences) // 10], 1), ("1.5M", sentences, 1),
             ("15M", sentences, 10)]
    print(f"start: {load_note()}", flush=True)
    print(f"{'method':>9} {'words':>10} {'impl':>13} {'seconds':>8} {'peak RSS MB':>11}")
    for label, part, copies in sizes:
        corpus = tmp / f"corpus-{label}.txt"
        words = write_corpus(corpus, part, copies)
        for method in args.methods.split(","):
            times = {}
            for impl in IMPLS:
                seconds, rss = timed(command(impl, corpus, method, tmp / "out", 0, args.epochs))
                times[impl] = seconds
                print(f"{method:>9} {words:>10,} {impl:>13} {seconds:8.2f} {rss:11.0f}",
                      flush=True)
            # one run per size (the paired medians are the --reps mode's): a cost curve
            print(f"{method:>9} {words:>10,} {'vs gensim':>13} " + ", ".join(
                f"{impl} {times['gensim'] / times[impl]:.2f}x" for impl in IMPLS
                if impl != "gensim") + " (gensim's seconds / ours)", flush=True)
        corpus.unlink()
    print(f"epochs={args.epochs}; end: {load_note()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="skipgram,cbow")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--scaling", action="store_true", help="corpus sizes 0.15M to 15M")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = tmp / "glosses.txt"
        write_corpus(corpus, glosses())
        warm_up(corpus, tmp)
        if args.scaling:
            scaling(args, tmp)
        else:
            print(f"start: {load_note()}; every side on {WORKERS} threads", flush=True)
            paired(args, corpus, tmp)


if __name__ == "__main__":
    main()
