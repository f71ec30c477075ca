"""Tour chapter: the lesson's embedding -> linear language model and a small LSTM on WordNet
glosses, with a Kneser-Ney bigram for reference: perplexities, curves, neighbours, samples."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

log = logging.getLogger(__name__)

TITLE = "Language models: the embedding layer and an LSTM"
PROBES = ("water", "animal", "music", "red", "king")
PROMPTS = ("a small", "the act of", "a person who")

# CPU-sized settings: about 2 minutes on 2 cores (quick: seconds, for the tests)
FULL = dict(max_lines=6000, max_size=5000, lesson_epochs=3, lstm_epochs=4, lstm_dim=200)
QUICK = dict(max_lines=400, max_size=1000, lesson_epochs=1, lstm_epochs=1, lstm_dim=32)


def run(report, out_dir: Path, *, quick: bool = False, device: str = "auto") -> None:
    """Add the language-model section to ``report`` (figures go to ``out_dir``).

    Trains the lesson's model (embedding -> linear, Adam, cross-entropy) and a tied one-layer
    LSTM on 6,000 WordNet glosses (about 80k tokens, 5,000-word vocabulary), fits an
    interpolated Kneser-Ney bigram on the same tokens, and reports test perplexities, loss
    curves, nearest words for a few probes and three sampled continuations.
    """
    import torch

    from dlcourse.engine import resolve_device
    from dlcourse.lm import KneserNeyBigram, LanguageModel, LMConfig, load_corpus
    from dlcourse.plots.common import plot_histories
    from dlcourse.plots.lm import plot_perplexities

    s = QUICK if quick else FULL
    out_dir = Path(out_dir)
    report.section(TITLE)
    # the lesson tokenizes with spaCy; basic_english stands in when spaCy is not installed
    tokenizer = "spacy" if importlib.util.find_spec("spacy") else "basic_english"
    corpus = load_corpus("wordnet", tokenizer=tokenizer, max_lines=s["max_lines"],
                         max_size=s["max_size"], seed=0)
    n = corpus.summary()
    report.text(
        f"WordNet glosses split 80/10/10 by a seeded rule; the first {s['max_lines']:,} training "
        f"glosses ({n['train_tokens']:,} tokens with one `<eos>` per gloss), "
        f"{n['valid_tokens']:,} valid and {n['test_tokens']:,} test tokens, a vocabulary of "
        f"{n['vocab_size']:,} (`{tokenizer}` tokens, min_freq 2). Both networks read the text as "
        "10 contiguous streams in windows of 35 tokens and predict the next word at every position."
    )

    bigram = KneserNeyBigram(n["vocab_size"]).fit(corpus.train)
    # the lesson's recipe with fewer epochs; a larger step and more, smaller batches make up
    # for the shorter run
    lesson_cfg = LMConfig.preset("embedding", epochs=s["lesson_epochs"], lr=3e-3, batch_size=10)
    lstm_cfg = LMConfig.preset("lstm", epochs=s["lstm_epochs"], num_layers=1,
                               embed_dim=s["lstm_dim"], hidden_dim=s["lstm_dim"], batch_size=10)
    models = {}
    threads = torch.get_num_threads()
    if resolve_device(device).type == "cpu":
        # these small matrices gain little from a second thread, and on a busy 2-core machine
        # the spinning OpenMP workers made the chapter 3x slower (465 s against 151 s)
        torch.set_num_threads(1)
    try:
        for name, cfg in (("lesson model", lesson_cfg), ("LSTM", lstm_cfg)):
            log.info("training the %s", name)
            models[name] = LanguageModel(cfg, device=device).fit(corpus)
    finally:
        torch.set_num_threads(threads)

    rows = [{"model": "Kneser-Ney bigram (counts)", "parameters": "-", "epochs": "-",
             "train tokens/s": "-", "valid ppl": bigram.perplexity(corpus.valid),
             "test ppl": bigram.perplexity(corpus.test)}]
    for name, lm in models.items():
        rows.append({
            "model": f"{name} ({lm.config.model}, {lm.config.embed_dim}-d)",
            "parameters": sum(p.numel() for p in lm.model_.parameters()),
            "epochs": len(lm.history_),
            "train tokens/s": round(sum(h["items_per_s"] for h in lm.history_) / len(lm.history_)),
            "valid ppl": lm.perplexity(corpus.valid),
            "test ppl": lm.perplexity(corpus.test),
        })
    report.text(
        "**Perplexity** (lower is better; a uniform guess scores the vocabulary size). The "
        "lesson's model sees only the current word, so it is a low-rank bigram model trained by "
        "gradient descent; the count bigram with Kneser-Ney smoothing is the yardstick, and the "
        "LSTM carries its hidden state across windows to use the whole preceding text."
    )
    report.table(rows, floatfmt=".1f")
    bars = plot_perplexities([r["model"] for r in rows], [r["test ppl"] for r in rows],
                             out_dir / "lm_perplexity.png",
                             title="Test perplexity, WordNet glosses")
    report.image(bars, "Test perplexity of the three models.")
    curves = plot_histories({k: m.history_ for k, m in models.items()},
                            ["train_loss", "valid_loss"], out_dir / "lm_curves.png",
                            title="Cross-entropy per epoch", ylabel="loss (nats per token)")
    report.image(curves, "Training and validation loss of the two networks.")

    neighbours = []
    for probe in PROBES:
        if probe not in corpus.itos:
            continue
        row = {"probe": probe}
        for name, lm in models.items():
            row[name] = ", ".join(w for w, _ in lm.most_similar(probe, topn=5))
        neighbours.append(row)
    report.text("**Nearest words** (cosine) in each model's input embedding table.")
    report.table(neighbours)

    lstm = models["LSTM"]
    samples = [{"prompt": p,
                "continuation": lstm.generate(p, max_tokens=20, temperature=0.8, top_k=40,
                                              seed=i, stop_at_eos=True)}
               for i, p in enumerate(PROMPTS)]
    report.text("**Samples from the LSTM** (temperature 0.8, top-k 40, up to the end of a gloss).")
    report.table(samples)
    report.text(
        "On the Penn Treebank (`dlcourse lm train ptb --model ptb-medium`: 650 units, 2 "
        "layers, dropout 0.5, 39 epochs) Zaremba et al. report about 82 test perplexity; that "
        "recipe needs a GPU and the online PTB files and was not run for this report."
    )

    f, out = FULL, "runs/lm"
    data = (f"wordnet --tokenizer {tokenizer} --max-lines {f['max_lines']} "
            f"--max-vocab {f['max_size']} --batch-size 10")
    report.commands([
        f"# this chapter as above (writes {out}/report.html)",
        f"dlcourse tour --only lm{' --quick' if quick else ''} --out {out}"
        + ("" if device == "auto" else f" --device {device}"),
        "# the two networks (full settings; one thread, as the chapter), then their use",
        f"dlcourse --threads 1 lm train {data} --model embedding --epochs {f['lesson_epochs']} "
        f"--lr 3e-3 --out {out}/embedding",
        f"dlcourse --threads 1 lm train {data} --model lstm --epochs {f['lstm_epochs']} "
        f"--layers 1 --embed-dim {f['lstm_dim']} --hidden-size {f['lstm_dim']} --out {out}/lstm",
        f"dlcourse lm evaluate {out}/lstm",
        f"dlcourse lm similar {out}/lstm {' '.join(PROBES)} --top 5",
        *(f'dlcourse lm generate {out}/lstm "{p}" --max-tokens 20 --temperature 0.8 '
          f"--top-k 40 --stop-at-eos --num 1 --seed {i}" for i, p in enumerate(PROMPTS)),
        "# the Kneser-Ney bigram has no CLI verb: see the Python",
    ], python=f"""
        from dlcourse.lm import KneserNeyBigram, LanguageModel, LMConfig, load_corpus

        corpus = load_corpus("wordnet", tokenizer="{tokenizer}", max_lines={f['max_lines']},
                             max_size={f['max_size']}, seed=0)
        bigram = KneserNeyBigram(corpus.summary()["vocab_size"]).fit(corpus.train)
        print("bigram", bigram.perplexity(corpus.test))
        lesson = LMConfig.preset("embedding", epochs={f['lesson_epochs']}, lr=3e-3, batch_size=10)
        lstm = LMConfig.preset("lstm", epochs={f['lstm_epochs']}, num_layers=1, batch_size=10,
                               embed_dim={f['lstm_dim']}, hidden_dim={f['lstm_dim']})
        for name, cfg in (("embedding", lesson), ("lstm", lstm)):
            lm = LanguageModel(cfg).fit(corpus, out_dir=f"{out}/{{name}}")
            print(name, lm.perplexity(corpus.test))
        lm = LanguageModel.load("{out}/lstm")
        print(lm.generate("{PROMPTS[0]}", max_tokens=20, temperature=0.8, top_k=40, seed=0,
                          stop_at_eos=True))
    """)
