"""Tour chapter for the NLP pipeline: one-hot, tokenizers side by side, vocabulary coverage,
a labelled CSV split, and padded batches (bucketed vs random) on real review sentences."""

from __future__ import annotations

import csv
import logging
import random
from pathlib import Path

log = logging.getLogger(__name__)

TITLE = "NLP pipeline: tokenizers, vocabulary, batches"


def _one_hot_section(report) -> None:
    from dlcourse.text import Vocab, one_hot

    fruits = ["apple", "banana", "orange"]
    vocab = Vocab.build([fruits], specials=())  # no <pad>/<unk>: ids 0, 1, 2
    vectors = one_hot(vocab.lookup(fruits), len(vocab))  # (3, 3)
    report.text("**One-hot encoding.** The vocabulary is the axis: each word is a vector with a "
                "single 1 at its id.")
    report.table([{"word": w, "id": vocab[w], "one-hot": str([int(x) for x in v.tolist()])}
                  for w, v in zip(fruits, vectors)])


def _tokenizers_section(report, review: str) -> None:
    from dlcourse.errors import DlcourseError
    from dlcourse.text import get_tokenizer

    rows = []
    for name in ("basic_english", "whitespace", "regex", "spacy", "wordpiece"):
        try:
            tok = get_tokenizer(name)
        except DlcourseError as e:  # spaCy is an optional extra
            rows.append({"tokenizer": name, "tokens": 0, "output": f"(unavailable: {e})"})
            continue
        tokens = tok(review)
        rows.append({"tokenizer": name, "tokens": len(tokens), "output": " · ".join(tokens)})
    report.text(f"**One review, five tokenizers.** The review: _{review}_")
    report.table(rows, columns=["tokenizer", "tokens", "output"])


def _write_reviews_csv(path: Path, sentences) -> Path:
    from dlcourse.engine import atomic_write

    with atomic_write(path, "w") as f:
        w = csv.writer(f)
        w.writerow(["review", "label"])
        w.writerows((s, "pos" if r > 0 else "neg") for s, r in sentences if r != 0)
    return path


def run(report, out_dir: Path, *, quick: bool = False, device: str = "auto") -> None:
    """Add the NLP-pipeline section: runs in about 10 s on a 2-core CPU (quick: about 2 s).

    Works on the 10,605 Rotten Tomatoes review sentences and, unless quick, the 117,659 WordNet
    glosses; everything is CPU work (``device`` is accepted for the tour's uniform call).
    """
    from torch.utils.data import DataLoader

    from dlcourse.data.readers import read_rt_sentences, read_wordnet_glosses
    from dlcourse.text import (
        BucketBatchSampler,
        LabelEncoder,
        PadCollate,
        Vocab,
        WordPieceTokenizer,
        get_tokenizer,
        load_table,
        padding_fraction,
    )

    out_dir = Path(out_dir)
    report.section(TITLE)
    sentences = read_rt_sentences()
    if quick:  # every tenth: the file is sorted by rating, so its first 1,000 were 97% positive
        sentences = sentences[::10]

    _one_hot_section(report)
    review = next(s for s, _ in sentences if "'" in s and "," in s and 60 < len(s) < 140)
    _tokenizers_section(report, review)

    # the lesson's workflow: a review,label CSV -> table -> stratified split -> vocabulary
    table = load_table(_write_reviews_csv(out_dir / "reviews.csv", sentences),
                       text_col="review", label_col="label")
    train, valid, test = table.split((0.8, 0.1, 0.1), seed=0, stratify=True)
    enc = LabelEncoder().fit(train.labels)
    report.text(f"**A labelled CSV.** {len(table):,} review sentences (label = sign of the "
                f"human rating; neutral ones left out), split 80/10/10 with stratification; "
                f"classes {enc.classes_}.")
    report.table([{"split": n, "rows": len(p), **{f"share {c}": p.label_counts().get(c, 0)
                                                    / len(p) for c in enc.classes_}}
                  for n, p in (("train", train), ("valid", valid), ("test", test))])

    tok = get_tokenizer("basic_english")
    corpora = [("review sentences", train.texts, valid.texts)]
    if not quick:
        glosses = read_wordnet_glosses()
        cut = len(glosses) * 9 // 10
        corpora.append(("WordNet glosses", glosses[:cut], glosses[cut:]))
    rows, vocabs = [], []
    for name, fit_texts, held_out in corpora:
        fit_tokens = tok.batch(fit_texts)
        # torchtext's classic build_vocab(max_size=10000, min_freq=2)
        vocab = Vocab.build(fit_tokens, max_size=10000, min_freq=2)
        vocabs.append(vocab)
        types = len({t for toks in fit_tokens for t in toks})
        rows.append({"corpus": name, "texts": len(fit_texts),
                     "tokens": sum(map(len, fit_tokens)), "types": types,
                     "vocab (max 10k, min_freq 2)": len(vocab),
                     "coverage (fit)": vocab.coverage(fit_tokens),
                     "coverage (held out)": vocab.coverage(tok.batch(held_out))})
    report.text("**Vocabulary size and coverage** (share of running tokens that are in the "
                "vocabulary; the rest become `<unk>`).")
    report.table(rows, floatfmt=".3f")

    vocab = vocabs[0]  # the review sentences' vocabulary
    data = train.encode(tok, vocab, enc)
    lengths = [len(ids) for ids, _ in data]
    collate = PadCollate(pad_id=vocab.pad_id)
    rows = []
    for bs in (32, 64):
        order = list(range(len(data)))
        random.Random(0).shuffle(order)
        random_batches = [order[i:i + bs] for i in range(0, len(order), bs)]
        sampler = BucketBatchSampler(lengths, bs, seed=0)
        sampler.set_epoch(0)  # both passes below: epoch 0's batches (unset, each draws anew)
        bucketed = list(sampler)
        padded, lens, labels = next(iter(DataLoader(data, batch_sampler=sampler,
                                                    collate_fn=collate)))
        first_random = collate([data[i] for i in random_batches[0]])[0]
        rows.append({"batch size": bs,
                     "random: first batch": str(tuple(first_random.shape)),
                     "random: padding": padding_fraction(random_batches, lengths),
                     "bucketed: first batch": str(tuple(padded.shape)),
                     "bucketed: padding": padding_fraction(bucketed, lengths)})
    wp = WordPieceTokenizer().encode(train.texts[:32], max_length=64)
    report.text("**Padded batches.** `PadCollate` pads ids to `(batch, longest)`; "
                "`BucketBatchSampler` groups sentences of similar length (as torchtext's "
                "BucketIterator did), so far fewer cells are padding. Padding is the share of "
                "padded cells over one epoch.")
    report.table(rows, floatfmt=".3f")
    report.text(f"WordPiece (bert-base-uncased) batch of 32 with `[CLS]`/`[SEP]`: input_ids "
                f"{tuple(wp['input_ids'].shape)}, attention_mask "
                f"{tuple(wp['attention_mask'].shape)}, "
                f"{int(wp['attention_mask'].sum())} real tokens.")
    log.info("text chapter: %d sentences, vocabulary %d", len(table), len(vocab))

    from dlcourse.report import shell_quote

    csv_path = "runs/text/text/reviews.csv"  # where the first command writes the chapter's CSV
    report.commands([
        "# this chapter as above (writes runs/text/report.html)",
        f"dlcourse tour --only text{' --quick' if quick else ''} --out runs/text"
        + ("" if device == "auto" else f" --device {device}"),
        "# the review under three of the tokenizers; the CSV's labels and token lengths",
        *(f"dlcourse text tokenize --tokenizer {name} {shell_quote(review)}"
          for name in ("basic_english", "spacy", "wordpiece")),
        f"dlcourse text inspect {csv_path} --text-col review --label-col label",
        "# a vocabulary like the table's (max 10k, min_freq 2), here of all WordNet glosses",
        "dlcourse text vocab wordnet --max-vocab 10000 --min-freq 2",
    ], python=f"""
        from dlcourse.text import (BucketBatchSampler, LabelEncoder, Vocab, get_tokenizer,
                                   load_table, padding_fraction)

        table = load_table("{csv_path}", text_col="review", label_col="label")
        train, valid, test = table.split((0.8, 0.1, 0.1), seed=0, stratify=True)
        tok = get_tokenizer("basic_english")
        vocab = Vocab.build(tok.batch(train.texts), max_size=10000, min_freq=2)
        print(len(vocab), vocab.coverage(tok.batch(valid.texts)))
        data = train.encode(tok, vocab, LabelEncoder().fit(train.labels))
        lengths = [len(ids) for ids, _ in data]
        print(padding_fraction(list(BucketBatchSampler(lengths, 64, seed=0)), lengths))
    """)
