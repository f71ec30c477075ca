"""Tour chapter: sentiment of movie-review sentences with RNN/LSTM classifiers and a baseline."""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)

TITLE = "Text classification: movie-review sentiment with RNNs, a CNN and a Transformer"

# the lesson's RNN as the lesson trains it: random embeddings, plain Adam, no word dropout, no
# adversarial step, no average of the weights
PLAIN = dict(pretrained=None, word_dropout=0.0, adversarial=0.0, batch_size=64, lr=2e-3,
             ema_span=0.0)
# the chapter's models, CPU-sized (about 2 minutes in all on 2 cores); DIRS: their run folders
MODELS = {
    "lesson RNN (Embedding -> RNN -> Linear)": dict(
        model="rnn", num_layers=1, bidirectional=False, pooling="last", embed_dim=100,
        hidden_size=128, dropout=0.3, epochs=6, **PLAIN),
    # one layer and no adversarial step: a third of the default Transformer's time
    "Transformer encoder, GloVe 50d": dict(model="transformer", num_layers=1,
                                           pretrained="glove-6b-50d", adversarial=0.0, epochs=5),
    # the library's defaults: GloVe beside vectors of the MiniLM encoder, word by word, and a
    # score over the words and word pairs trained with the network
    "Kim's CNN + n-gram score, GloVe 50d + MiniLM words (the defaults)": dict(),
}
DIRS = dict(zip(MODELS, ("rnn", "transformer", "cnn")))

TYPED = [
    "A gorgeous, witty and moving film.",
    "Tedious, flat and far too long.",
    "Not bad at all.",
    "The actors try hard, but the script is a mess.",
    "I expected to hate it, and I loved every minute.",
]


def run(report, out_dir: Path, *, quick: bool = False, device: str = "auto") -> None:
    """Add the text-classification section to ``report``; figures go to ``out_dir``.

    Trains the lesson's RNN, a Transformer encoder and Kim's CNN (the library's default model)
    on the review sentences (fixed 80/10/10 split), compares them with a bag-of-words logistic
    regression on the test split, and shows a confusion matrix, ROC curves and predictions for
    typed sentences. ``quick``: 600 training sentences, one epoch, small models (seconds).
    """
    from dlcourse.classify import TextClassifier, roc_curve, rt_split
    from dlcourse.classify.baseline import BowLogisticRegression
    from dlcourse.classify.encoding import class_indices
    from dlcourse.plots.classify import plot_roc_curves
    from dlcourse.plots.common import plot_confusion_matrix, plot_histories

    out_dir = Path(out_dir)
    split = rt_split()
    train, valid, test = split["train"], split["valid"], split["test"]
    if quick:
        train, valid, test = ((p[0][:n], p[1][:n]) for p, n in
                              ((train, 600), (valid, 200), (test, 200)))
    report.section(TITLE)
    report.text(
        f"Data: {len(train[0]) + len(valid[0]) + len(test[0]):,} Rotten Tomatoes review "
        "sentences rated by people (label = sign of the mean rating; sentences rated 0 dropped), "
        f"split 80/10/10 with a fixed seed{', then cut for a quick run' if quick else ''}: "
        f"{len(train[0]):,} train, {len(valid[0]):,} valid, "
        f"{len(test[0]):,} test. Each network trains with Adam, length-bucketed batches, "
        "gradient clipping and early stopping on validation accuracy; the best epoch is kept. "
        "Beside the lesson's RNN, the networks also keep a moving average of their weights "
        "over about the last 30% of the steps (ema_span), which smooths out the noise of the "
        "last steps much as a small ensemble would, for one copy of the weights; each epoch "
        "validates both the average and the weights and keeps the better, because an average "
        "lags behind weights that are still improving fast.")

    rows, histories, roc, fitted = [], {}, {}, {}
    start = time.perf_counter()
    bow = BowLogisticRegression(ngrams=2).fit(*train)
    m = bow.evaluate(*test)
    rows.append({"model": "BoW logistic regression (1-2 grams, baseline)",
                 "test accuracy": m["accuracy"], "macro F1": m["macro_f1"],
                 "ROC-AUC": m["roc_auc"], "epochs": "-",
                 "seconds": time.perf_counter() - start})
    log.info("BoW logistic regression (baseline): test accuracy %.4f", m["accuracy"])
    y_test = class_indices(test[1], bow.classes_)
    roc["BoW logistic regression"] = (*roc_curve(y_test, bow.predict_proba(test[0])[:, 1]),
                                      m["roc_auc"])
    for name, kw in MODELS.items():
        kw = dict(kw, device=device)
        if quick:
            kw.update(epochs=1, hidden_size=16, pretrained_vocab=0)
        clf = TextClassifier(**kw).fit(*train, valid=valid)
        m = clf.evaluate(*test)
        rows.append({"model": name, "test accuracy": m["accuracy"], "macro F1": m["macro_f1"],
                     "ROC-AUC": m["roc_auc"], "epochs": f"{clf.best_epoch_}/{len(clf.history_)}",
                     "seconds": clf.fit_seconds_})
        histories[name] = clf.history_
        proba = clf.predict_proba(test[0])[:, 1]
        roc[name] = (*roc_curve(y_test, proba), m["roc_auc"])
        fitted[name] = (clf, m, max(h["valid_acc"] for h in clf.history_))
        log.info("%s: test accuracy %.4f", name, m["accuracy"])

    report.table(rows, ["model", "test accuracy", "macro F1", "ROC-AUC", "epochs", "seconds"])
    cnn = fitted["Kim's CNN + n-gram score, GloVe 50d + MiniLM words (the defaults)"][0]
    glove = cnn.coverage_  # training vocabulary only
    report.text(
        f"GloVe 6B 50d covers {glove['type_coverage']:.1%} of the vocabulary and "
        f"{glove.get('token_coverage', 0):.1%} of the training tokens; the 50,000 most frequent "
        f"GloVe words join the vocabulary too ({len(cnn.vocab_):,} entries), so words the "
        "training sentences lack keep their vector. The CNN's words also get a second, "
        "100-wide vector from a pretrained sentence encoder (all-MiniLM-L6-v2): each word runs "
        "through it alone, once, before training, and its states are averaged and reduced by "
        "PCA; the encoder has read far more English than these sentences, and the CNN never "
        "runs it when predicting, so it keeps the CNN's speed. The plain RNN reads the "
        "sentence left to right and keeps only its last state. The Transformer encoder lets "
        "every word attend to every other (here 1 layer of 4 heads, learned positions, a "
        "padding mask so no word attends to padding) and averages the words' final states. "
        "Kim's CNN slides 100 filters each of 3, 4 and 5 words over the sentence and keeps "
        "each filter's strongest match anywhere in it; to its answer it adds a learned score "
        "for each word and each pair of neighbouring words in the sentence (the baseline's "
        "features, pairs hashed into 262,144 rows, trained together with the network: the "
        "'wide' part of a wide and deep model), so a phrase seen in training counts as "
        "directly as in the baseline while the filters and word vectors carry what the "
        "phrases miss. Both train with word dropout "
        "(each word becomes <unk> with probability 0.2); the CNN also with adversarial "
        "training, as the library's defaults do: each sentence's word vectors are pushed a "
        "distance of 1 in the direction that raises its loss most, and the network learns "
        f"from both, so nearby vectors (similar words) get similar answers. On {len(train[0]):,} "
        "training sentences "
        "that regularisation and the phrase score, not a bigger network, are what put it "
        "ahead of the bag of words. The "
        "published 10-fold figures on the full MR set (Kim 2014): Naive Bayes 79.0, "
        "NBSVM-bigram 79.4, CNN-rand 76.1, CNN-static 81.0, CNN-non-static 81.5 (word2vec "
        "300d vectors, 6x wider than GloVe's here).")
    report.image(plot_histories(histories, ["valid_acc"], out_dir / "classify_valid_acc.png",
                                "Validation accuracy by epoch", ylabel="valid_acc"),
                 "Validation accuracy of each network by epoch")
    report.image(plot_roc_curves(roc, out_dir / "classify_roc.png"), "ROC curves, test split")

    best_name = max(fitted, key=lambda k: fitted[k][2])  # chosen on validation, not test
    best, best_m, _ = fitted[best_name]
    report.image(plot_confusion_matrix(best_m["confusion_matrix"], best.classes_,
                                       out_dir / "classify_confusion.png",
                                       title=f"{best_name} (test)"),
                 f"Confusion matrix of the model best on validation: {best_name}")
    report.table([{"class": c["class"], "precision": c["precision"], "recall": c["recall"],
                   "F1": c["f1"], "support": c["support"]} for c in best_m["per_class"]])

    p_best = best.predict_proba(TYPED)[:, best.classes_.tolist().index("pos")]
    p_bow = bow.predict_proba(TYPED)[:, bow.classes_.tolist().index("pos")]
    report.text(f"Typed sentences, P(positive) from {best_name} and from the baseline:")
    report.table([{"sentence": s, "label": "pos" if p > 0.5 else "neg", "P(pos)": float(p),
                   "P(pos) baseline": float(q)} for s, p, q in zip(TYPED, p_best, p_bow)],
                 floatfmt=".3f")
    _commands(report, quick, device, best_name)


def _flags(settings: dict) -> list[str]:
    """The `dlcourse classify train` options that give a model of MODELS its settings."""
    names = {"num_layers": "--layers", "num_heads": "--heads"}
    switches = {("bidirectional", False): "--unidirectional", ("freeze", True): "--freeze"}
    out = []
    for key, value in settings.items():
        if (key, value) in switches:
            out.append(switches[key, value])
        else:
            flag = names.get(key, "--" + key.replace("_", "-"))
            out.append(f"{flag} {'none' if value is None else value}")
    return out


def _commands(report, quick: bool, device: str, best_name: str) -> None:
    """End the section with the commands that reproduce it."""
    from dlcourse.report import shell_quote

    out = "runs/classify"
    report.commands([
        f"# this chapter as above (writes {out}/report.html)",
        f"dlcourse tour --only classify{' --quick' if quick else ''} --out {out}"
        + ("" if device == "auto" else f" --device {device}"),
        f"# the {len(MODELS)} networks (full settings); each also reports its test split",
        *(" ".join(["dlcourse classify train rt-sentences", *_flags(kw),
                    f"--out {out}/{DIRS[name]}"]) for name, kw in MODELS.items()),
        f"dlcourse classify evaluate {out}/{DIRS[best_name]} rt-sentences",
        f"dlcourse classify predict {out}/{DIRS[best_name]} "
        + " ".join(shell_quote(t) for t in TYPED),
        "# the bag-of-words baseline has no CLI verb: see the Python",
    ], python="""
        from dlcourse.classify import BowLogisticRegression, TextClassifier, rt_split
        from dlcourse.classify.chapter import MODELS  # the networks' settings

        split = rt_split()  # the fixed, stratified 80/10/10 split
        bow = BowLogisticRegression(ngrams=2).fit(*split["train"])
        print("BoW", bow.evaluate(*split["test"])["accuracy"])
        for name, settings in MODELS.items():
            clf = TextClassifier(**settings).fit(*split["train"], valid=split["valid"])
            print(name, clf.evaluate(*split["test"])["accuracy"])
    """)
