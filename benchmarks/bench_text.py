"""Tokenizer throughput on real corpora, vocabulary building, and bucketed vs random padding.

Peer: torchtext's basic_english rules implemented the straightforward way (twelve re.sub calls
per line, as torchtext's Python fallback does), measured in the same run and checked to give
identical tokens. Reading: ``iter_lines`` (strict decoding, line-precise errors) against a bare
``open()`` loop, and ``load_table`` (quote and delimiter checks) against ``csv.DictReader``, on
the same files. Ratios > 1 mean faster than the peer. Median of --repeat runs (each pair run
back to back, so load drifts hit both), GC off while timing.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_text.py            # full corpora
    PYTHONPATH=src .venv/bin/python benchmarks/bench_text.py --quick    # 10% of them
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

_PATTERNS = [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:",
             r"\s+"]
_REPLACEMENTS = [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "]
_COMPILED = [(re.compile(p), r) for p, r in zip(_PATTERNS, _REPLACEMENTS)]


def regex_basic_english(line: str) -> list[str]:
    """The peer: torchtext's rules as sequential regex substitutions."""
    line = line.lower()
    for pattern, repl in _COMPILED:
        line = pattern.sub(repl, line)
    return line.split()


def median_of(fn, repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` runs and the last output. The garbage collector is off
    while timing (as in timeit): its passes over millions of token lists are noise."""
    times, out = [], None
    for _ in range(repeat):
        out = None
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        finally:
            gc.enable()
    return statistics.median(times), out


def table(rows: list[dict]) -> None:
    cols = list(rows[0])
    cells = [[f"{r[c]:,.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols]
             for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for x in cells:
        print("  ".join(v.ljust(w) for v, w in zip(x, widths)))
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10%% of each corpus")
    ap.add_argument("--repeat", type=int, default=3, help="median of N timings")
    ap.add_argument("--no-spacy", action="store_true")
    args = ap.parse_args()

    from dlcourse.data.readers import read_rt_sentences, read_wordnet_glosses
    from dlcourse.text import (
        BucketBatchSampler,
        Vocab,
        get_tokenizer,
        padding_fraction,
    )

    corpora = {"rt-sentences": [s for s, _ in read_rt_sentences()],
               "wordnet-glosses": read_wordnet_glosses()}
    if args.quick:
        corpora = {k: v[: len(v) // 10] for k, v in corpora.items()}
    tokenizers = {"basic_english": get_tokenizer("basic_english").batch,
                  "whitespace": get_tokenizer("whitespace").batch,
                  "regex \\w+|[^\\w\\s]": get_tokenizer("regex").batch,
                  "wordpiece (bert-base-uncased)": get_tokenizer("wordpiece").batch}
    if not args.no_spacy:
        try:
            tokenizers["spacy (blank en)"] = get_tokenizer("spacy").batch
        except Exception as e:  # spaCy not installed: report and go on
            print(f"spacy skipped: {e}")

    for name, texts in corpora.items():
        words = sum(len(t.split()) for t in texts)
        print(f"## {name}: {len(texts):,} texts, {words:,} words")
        peer_s, peer_out = median_of(lambda texts=texts: [regex_basic_english(t) for t in texts],
                                   args.repeat)
        rows = [{"tokenizer": "peer: torchtext rules via re.sub", "seconds": peer_s,
                 "tokens/s": sum(map(len, peer_out)) / peer_s, "ratio vs peer": 1.0}]
        for tname, fn in tokenizers.items():
            reps = 1 if tname.startswith("spacy") else args.repeat
            s, out = median_of(lambda fn=fn, texts=texts: fn(texts), reps)
            if tname.startswith("basic_english"):
                assert out == peer_out, "basic_english differs from the torchtext rules"
            rows.append({"tokenizer": tname, "seconds": s, "tokens/s": sum(map(len, out)) / s,
                         "ratio vs peer": peer_s / s})
        table(rows)

    reading(corpora, args.repeat)

    texts = corpora["wordnet-glosses"]
    tok = get_tokenizer("basic_english")
    s, vocab = median_of(lambda: Vocab.build(tok.stream(texts), min_freq=5), 1)
    n_tok = sum(vocab.freqs)
    print(f"## Vocab.build(tok.stream(wordnet glosses), min_freq=5): {s:.2f} s for tokenizing "
          f"and counting; {len(vocab):,} entries covering {n_tok:,} tokens\n")

    lengths = [len(t) for t in tok.batch(corpora["rt-sentences"])]
    rows = []
    for bs in (32, 64):
        order = list(range(len(lengths)))
        random.Random(0).shuffle(order)
        rand = [order[i:i + bs] for i in range(0, len(order), bs)]
        bucket = list(BucketBatchSampler(lengths, bs, seed=0))
        rows.append({"batch_size": bs, "random batches: padding": padding_fraction(rand, lengths),
                     "bucketed: padding": padding_fraction(bucket, lengths),
                     "ratio (random / bucketed)": padding_fraction(rand, lengths)
                     / max(padding_fraction(bucket, lengths), 1e-9)})
    print("## padding fraction on the review sentences (basic_english lengths)")
    table(rows)


def reading(corpora: dict, repeat: int) -> None:
    """Reading a corpus file and a labelled CSV: the library's readers against bare stdlib."""
    import csv

    from dlcourse.text import iter_lines, load_table

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "glosses.txt"
        corpus.write_text("\n".join(corpora["wordnet-glosses"]) + "\n", encoding="utf-8")
        csv_path = Path(tmp) / "rt.csv"
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows((t, i % 2) for i, t in enumerate(corpora["rt-sentences"]))

        def bare_lines():
            with open(corpus, encoding="utf-8") as f:
                return [line.rstrip("\n") for line in f if line.strip()]

        def bare_csv():
            with open(csv_path, newline="", encoding="utf-8") as f:
                return [(r["text"], r["label"]) for r in csv.DictReader(f)]

        rows = []
        for name, ours, peer in (
                (f"iter_lines ({corpus.stat().st_size / 1e6:.1f} MB)",
                 lambda: list(iter_lines(corpus)), bare_lines),
                (f"load_table ({csv_path.stat().st_size / 1e6:.1f} MB CSV)",
                 lambda: load_table(csv_path).texts, bare_csv)):
            pairs = [(median_of(ours, 1)[0], median_of(peer, 1)[0]) for _ in range(repeat)]
            ours_s = statistics.median(p[0] for p in pairs)
            peer_s = statistics.median(p[1] for p in pairs)
            assert len(ours()) == len(peer())
            rows.append({"reader": name, "seconds": ours_s, "peer seconds": peer_s,
                         "ratio vs peer": peer_s / ours_s})
    print("## reading files (peer: bare open() loop / csv.DictReader)")
    table(rows)


if __name__ == "__main__":
    main()
