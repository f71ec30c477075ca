"""`dlcourse lm`: train, evaluate and use the embedding-layer and LSTM language models."""

from __future__ import annotations

from pathlib import Path

import click

from dlcourse.cli.common import device_option, echo_table, out_option, resume_option, seed_option

group = click.Group("lm", help="Train and use the embedding-layer and LSTM language models.")

DATA_HELP = ("ptb or wikitext-2 (online), wordnet, wikipedia, reviews, lee (offline), a text file "
             "(split 80/10/10 by --seed) or a directory with *train*, *valid*, *test* files.")
MAX_LINES_HELP = "Use only the first N train lines (N//8 valid and test)."
DRY_RUN_LINES = 100


@group.command()
@click.option("--model", "kind", type=click.Choice(["embedding", "lstm", "ptb-medium"]),
              default="lstm", show_default=True,
              help="embedding: the lesson's embedding -> linear model (Adam, 10 epochs); lstm: "
              "the CPU-sized LSTM; ptb-medium: Zaremba's 650x2 LSTM recipe (GPU).")
@click.option("--data", default="wordnet", show_default=True, help=DATA_HELP)
@click.option("--tokenizer", default=None,
              help="basic_english, whitespace or spacy [whitespace for ptb/wikitext-2].")
@click.option("--max-size", default=10000, show_default=True, type=int, help="Vocabulary size.")
@click.option("--min-freq", default=2, show_default=True, type=int)
@click.option("--max-lines", default=None, type=int, help=MAX_LINES_HELP)
@click.option("--epochs", type=int, default=None, help="[preset: 10; ptb-medium 39]")
@click.option("--embed-dim", type=int, default=None, help="[embedding 100, lstm 200]")
@click.option("--hidden-dim", type=int, default=None, help="LSTM units [200].")
@click.option("--layers", "num_layers", type=int, default=None, help="LSTM layers [2].")
@click.option("--dropout", type=float, default=None, help="[0.2; ptb-medium 0.5]")
@click.option("--tie/--no-tie", "tie_weights", default=None,
              help="Tie the decoder to the embedding [lstm: tied].")
@click.option("--bptt", type=int, default=None, help="Window length [35].")
@click.option("--batch-size", type=int, default=None, help="Parallel streams [20].")
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default=None)
@click.option("--lr", type=float, default=None, help="[embedding 1e-3, lstm 2e-3, sgd 20]")
@click.option("--clip", "grad_clip", type=float, default=None, help="Gradient-norm clip [0.25].")
@click.option("--patience", type=int, default=None,
              help="Early stop after N epochs without a better valid perplexity [lstm 2].")
@click.option("--amp", is_flag=True, default=None, help="Mixed precision (CUDA only).")
@click.option("--dry-run", is_flag=True,
              help=f"Smoke test: {DRY_RUN_LINES} lines, 1 epoch, tiny model.")
@device_option
@seed_option
@out_option
@resume_option
def train(kind, data, tokenizer, max_size, min_freq, max_lines, epochs, embed_dim, hidden_dim,
          num_layers, dropout, tie_weights, bptt, batch_size, optimizer, lr, grad_clip, patience,
          amp, dry_run, device, seed, out, resume):
    """Train a language model and save it in --out.

    Writes model.pt (best weights), last.pt/best.pt (resumable), history.json, metrics.json
    (valid/test perplexity, tokens/s) and curves.png. Under ``torchrun --nproc_per_node=N -m
    dlcourse lm train ...`` each process trains on its share of the --batch-size streams (which
    must be a multiple of N) and rank 0 writes the outputs; --resume works with any N.
    """
    from dlcourse.engine import write_json
    from dlcourse.engine.distributed import (
        init_distributed,
        is_main_process,
        shutdown_distributed,
    )
    from dlcourse.lm import LanguageModel, LMConfig, load_corpus
    from dlcourse.plots.common import plot_curves

    if dry_run:
        max_lines = min(max_lines or DRY_RUN_LINES, DRY_RUN_LINES)
        epochs, embed_dim, hidden_dim = 1, min(embed_dim or 16, 16), min(hidden_dim or 16, 16)
        num_layers = min(num_layers or 1, 1)
    corpus = load_corpus(data, tokenizer=tokenizer, max_size=max_size, min_freq=min_freq,
                         seed=seed, max_lines=max_lines)
    config = LMConfig.preset(
        kind, epochs=epochs, embed_dim=embed_dim, hidden_dim=hidden_dim, num_layers=num_layers,
        dropout=dropout, tie_weights=tie_weights, bptt=bptt, batch_size=batch_size,
        optimizer=optimizer, lr=lr, grad_clip=grad_clip, patience=patience, amp=amp or None,
        seed=seed,
    )
    out = Path(out)
    # every rank loads the same corpus (same seed, same split and vocabulary); a single
    # process is unaffected (init_distributed only resolves the device)
    rank_device = init_distributed(device)
    try:
        lm = LanguageModel(config).fit(corpus, out_dir=out, device=rank_device, resume=resume)
    finally:
        shutdown_distributed()
    if not is_main_process():
        return
    metrics = {**corpus.summary(), **lm.evaluate(corpus), "model": kind,
               "epochs_run": len(lm.history_),
               "train_tokens_per_s": lm.history_[-1]["items_per_s"] if lm.history_ else None}
    write_json(out / "metrics.json", metrics)
    plot_curves(lm.history_, ["train_loss", "valid_loss"], out / "curves.png",
                title=f"{kind} language model on {corpus.name}")
    echo_table([{"epoch": h["epoch"], "train_loss": h["train_loss"], "valid_ppl": h["valid_ppl"],
                 "lr": h["lr"], "tokens/s": round(h["items_per_s"])} for h in lm.history_])
    click.echo(f"valid perplexity {metrics['valid_ppl']:.1f}, test perplexity "
               f"{metrics['test_ppl']:.1f}; saved {out / 'model.pt'}")


@group.command()
@click.argument("model_dir", type=click.Path(exists=True))
@click.option("--data", default=None, help=f"Default: the data it was trained on. {DATA_HELP}")
@click.option("--max-lines", default=None, type=int, help=MAX_LINES_HELP)
@device_option
def evaluate(model_dir, data, max_lines, device):
    """Valid and test perplexity of the model in MODEL_DIR."""
    from dlcourse.lm import LanguageModel, load_corpus

    lm = LanguageModel.load(model_dir, device=device)
    corpus = load_corpus(data or lm.data_name_, tokenizer=lm.tokenizer_config_,
                         seed=lm.config.seed, max_lines=max_lines, vocab=lm.itos_)
    echo_table([{"data": corpus.name, **lm.evaluate(corpus),
                 "test_tokens": int(corpus.test.numel())}], floatfmt=".2f")


@group.command()
@click.argument("model_dir", type=click.Path(exists=True))
@click.option("--prompt", default="", help="Text to continue (empty: a new sentence).")
@click.option("--max-tokens", default=30, show_default=True, type=int)
@click.option("--temperature", default=1.0, show_default=True, type=float,
              help="0 greedy, < 1 safer, > 1 more varied.")
@click.option("--top-k", default=40, show_default=True, type=int, help="0 = all words.")
@click.option("--num", "num_samples", default=3, show_default=True, type=int,
              help="Number of samples.")
@click.option("--stop-at-eos", is_flag=True, help="End each sample at the end of a sentence.")
@click.option("--allow-unk", is_flag=True, help="Let the sampler draw <unk>.")
@seed_option
@device_option
def generate(model_dir, prompt, max_tokens, temperature, top_k, num_samples, stop_at_eos,
             allow_unk, seed, device):
    """Sample continuations of --prompt (temperature, top-k)."""
    from dlcourse.lm import LanguageModel

    lm = LanguageModel.load(model_dir, device=device)
    for i in range(num_samples):
        text = lm.generate(prompt, max_tokens=max_tokens, temperature=temperature,
                           top_k=top_k or None, seed=seed + i, stop_at_eos=stop_at_eos,
                           allow_unk=allow_unk)
        click.echo(f"{prompt} {text}".strip())


@group.command()
@click.argument("model_dir", type=click.Path(exists=True))
@click.argument("words", nargs=-1, required=True)
@click.option("--topn", default=10, show_default=True, type=int)
@device_option
def similar(model_dir, words, topn, device):
    """Nearest words to WORDS in the model's embedding table."""
    from dlcourse.lm import LanguageModel

    kv = LanguageModel.load(model_dir, device=device).keyed_vectors()
    for word in words:
        click.echo(f"{word}:")
        echo_table([{"word": w, "cosine": s} for w, s in kv.most_similar(word, topn=topn)],
                   floatfmt=".3f")


@group.command()
@click.argument("model_dir", type=click.Path(exists=True))
@click.option("--to", "path", required=True, type=click.Path(dir_okay=False),
              help="Output file (word2vec text format).")
def export(model_dir, path):
    """Export the embedding table as word vectors (word2vec text)."""
    from dlcourse.lm import LanguageModel

    lm = LanguageModel.load(model_dir, device="cpu")
    click.echo(f"wrote {lm.export_vectors(path)}")
