"""The quick verbs as whole commands: what a user waits for after pressing Enter.

Each row times one ``dlcourse`` command from the outside (a subprocess, wall clock, start-up and
imports included) beside the peer's script that does the same job, in rotating order, for
``--reps`` rounds; it prints the medians with their range and the median of the paired ratios
(peer / ours: above 1, ours answers sooner):

- ``dlcourse --help`` beside a bare ``python -c pass`` (the interpreter's own start);
- ``text tokenize TEXT`` (basic_english, no torch) beside spaCy's blank English tokenizer;
- ``embed similar MODEL WORD`` beside gensim loading its own ``KeyedVectors`` file of the same
  vectors and asking ``most_similar``;
- ``som predict MODEL X.npy`` (no torch, no numba) beside MiniSom unpickling a trained map and
  finding the winners of the 20 rows ``som predict`` prints (MiniSom has no file format of its
  own; users pickle it). ``som predict`` computes all 1,797 rows' units, so the peer does
  less work: the ratio is conservative;
- ``classify predict MODEL TEXT`` beside ``python -c "import torch"``: the import and the exit
  any torch script pays (``dlcourse`` skips the interpreter's teardown, so it can come in
  under it).

The models are trained first (a small word2vec of the WordNet glosses, a 10x10 map of the
standardised digits, a one-epoch classifier on 200 movie-review sentences): their quality does
not matter here, only the files the commands read.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_startup.py [--reps 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _embed import glosses, load_note, run_timed, spread, write_corpus  # noqa: E402

PYTHON = sys.executable
DLCOURSE = str(Path(sys.executable).with_name("dlcourse"))
TEXT = "A gorgeous, witty film that doesn't overstay its welcome."
WORD = "dog"

SPACY = """
import sys, spacy
nlp = spacy.blank("en")
print(" ".join(t.text.lower() for t in nlp(sys.argv[1])))
"""
GENSIM = """
import sys
from gensim.models import KeyedVectors
kv = KeyedVectors.load(sys.argv[1], mmap="r")
for word, score in kv.most_similar(sys.argv[2], topn=10):
    print(f"{word} {score:.4f}")
"""
MINISOM = """
import pickle, sys
import numpy as np
with open(sys.argv[1], "rb") as f:
    som, mean, std = pickle.load(f)
X = (np.load(sys.argv[2]) - mean) / std
for i, x in enumerate(X[:20]):
    print(i, *som.winner(x))
"""


def prepare(work: Path) -> None:
    """Train the models the commands read, and the peers' copies of them."""
    import pickle

    import numpy as np
    from gensim.models import KeyedVectors
    from minisom import MiniSom
    from sklearn.datasets import load_digits

    corpus = work / "glosses.txt"
    write_corpus(corpus, glosses()[:20_000])
    run_timed([DLCOURSE, "-q", "embed", "train", corpus, "--method", "cbow", "--epochs", "1",
               "--out", work / "emb"])
    run_timed([DLCOURSE, "-q", "embed", "export", work / "emb", "--to", work / "emb.bin"])
    KeyedVectors.load_word2vec_format(work / "emb.bin", binary=True).save(str(work / "emb.kv"))

    X = load_digits().data
    np.save(work / "digits.npy", X)
    run_timed([DLCOURSE, "-q", "som", "train", work / "digits.npy", "--grid", "10x10",
               "--out", work / "som"])
    std = X.std(axis=0)
    std[std == 0] = 1.0
    peer = MiniSom(10, 10, X.shape[1], sigma=1.5, learning_rate=0.5, random_seed=0)
    peer.train_batch((X - X.mean(axis=0)) / std, 10 * len(X))
    with open(work / "minisom.pkl", "wb") as f:
        pickle.dump((peer, X.mean(axis=0), std), f)

    run_timed([DLCOURSE, "-q", "classify", "train", "pang-lee-sample", "--epochs", "1",
               "--pretrained", "none", "--out", work / "cls"])


def commands(work: Path) -> dict[str, tuple[list, list]]:
    """Row name -> (our command, the peer's command)."""
    return {
        "dlcourse --help  |  python -c pass": (
            [DLCOURSE, "--help"], [PYTHON, "-c", "pass"]),
        "text tokenize  |  spaCy blank('en')": (
            [DLCOURSE, "text", "tokenize", TEXT], [PYTHON, "-c", SPACY, TEXT]),
        "embed similar  |  gensim KeyedVectors": (
            [DLCOURSE, "embed", "similar", work / "emb", WORD],
            [PYTHON, "-c", GENSIM, work / "emb.kv", WORD]),
        "som predict  |  MiniSom (pickled)": (
            [DLCOURSE, "som", "predict", work / "som", work / "digits.npy"],
            [PYTHON, "-c", MINISOM, work / "minisom.pkl", work / "digits.npy"]),
        "classify predict  |  import torch": (
            [DLCOURSE, "classify", "predict", work / "cls", TEXT],
            [PYTHON, "-c", "import torch"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="paired rounds per row")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        prepare(work)
        print(f"models trained in {time.perf_counter() - start:.0f} s; {load_note()}; "
              f"{args.reps} rounds, rotating order", flush=True)
        rows = commands(work)
        for cmd, peer in rows.values():  # one untimed run each: the page cache, numba's cache
            run_timed(cmd)
            run_timed(peer)
        times: dict[str, tuple[list, list]] = {name: ([], []) for name in rows}
        for rep in range(args.reps):
            for name, (cmd, peer) in rows.items():
                pair = [(0, cmd), (1, peer)]
                for side, argv in pair if rep % 2 == 0 else pair[::-1]:
                    times[name][side].append(run_timed(argv)[0])
        width = max(len(name) for name in rows)
        print(f"{'command  |  peer'.ljust(width)}  {'ours s':>18}  {'peer s':>18}  peer/ours")
        for name, (ours, peer) in times.items():
            ratio = statistics.median(p / o for o, p in zip(ours, peer, strict=True))
            print(f"{name.ljust(width)}  {spread(ours):>18}  {spread(peer):>18}  {ratio:.2f}x",
                  flush=True)


if __name__ == "__main__":
    main()
