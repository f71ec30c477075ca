"""The network a :class:`~dlcourse.classify.TextClassifier` config builds: a word-vector
model whose embedding starts from pretrained vectors, or MiniLM's tokenizer, config and
weights."""

from __future__ import annotations

from pathlib import Path

import torch

from dlcourse.classify.bert import BertConfig
from dlcourse.classify.config import MINILM_DATA, MODEL_DEFAULTS, ClassifierConfig
from dlcourse.classify.models import build_classifier, model_config
from dlcourse.classify.pretrained import vocabulary_vectors


def word_vector_model(config: ClassifierConfig, token_lists, vocab, num_classes: int):
    """(module, module config, vocabulary, coverage) of the word-vector models: the embedding
    starts from ``config.pretrained`` (whose frequent words may join the vocabulary)."""
    from dlcourse.text import Vocab

    vectors, trained_rows, coverage, embed_dim = None, None, None, config.embed_dim
    if config.pretrained is not None:
        itos, vectors, coverage = vocabulary_vectors(
            config.pretrained, token_lists, vocab.itos, dim=config.embed_dim,
            pad_id=vocab.pad_id, seed=config.seed, extra_words=config.pretrained_vocab,
            progress=config.progress)
        extra = len(itos) - len(vocab.itos)
        if extra:  # words no training text holds: their rows never get a gradient
            trained_rows = len(vocab.itos)
            vocab = Vocab(itos, vocab.freqs + [0] * extra)
        embed_dim = vectors.shape[1]
    module_config = model_config(
        config.model, vocab_size=len(vocab.itos), num_classes=num_classes,
        embed_dim=embed_dim, hidden_size=config.hidden_size, num_layers=config.num_layers,
        dropout=config.dropout, pooling=config.pooling, padding_idx=vocab.pad_id,
        freeze_embeddings=bool(config.freeze and config.pretrained is not None),
        bidirectional=config.bidirectional, kernel_sizes=tuple(config.kernel_sizes),
        num_heads=config.num_heads, positions=config.positions,
        max_positions=config.max_len if config.max_len is not None else 512,
        static_channel=bool(config.multichannel and config.pretrained is not None),
        trained_rows=trained_rows, ngrams=config.ngrams)
    model = build_classifier(module_config)
    if vectors is not None:
        model.load_vectors(torch.from_numpy(vectors))
    return model, module_config, vocab, coverage


def bert_parts(config: ClassifierConfig, num_classes: int):
    """minilm's tokenizer (its WordPiece vocabulary, kept whole in the model file so loading
    needs no data set), module config and weights file (None: a random encoder)."""
    import tempfile

    from dlcourse.data import fetch
    from dlcourse.text import WordPieceTokenizer

    folder = fetch(MINILM_DATA)
    with tempfile.TemporaryDirectory() as tmp:
        # a tokenizer from a vocab.txt path would need the data set at load time; its JSON
        # pipeline (what ``config`` then holds) does not
        path = WordPieceTokenizer(folder / "vocab.txt").save(Path(tmp) / "tokenizer.json")
        tokenizer = WordPieceTokenizer.load(path)
    if config.pretrained is None:
        return tokenizer, model_config(
            config.model, vocab_size=tokenizer.vocab_size, num_classes=num_classes,
            hidden_size=config.hidden_size, num_layers=config.num_layers,
            dropout=config.dropout, num_heads=config.num_heads,
            padding_idx=tokenizer.pad_id), None
    dropout = MODEL_DEFAULTS["bert"]["dropout"] if config.dropout is None else config.dropout
    module_config = BertConfig.from_hf(folder / "config.json", num_classes=num_classes,
                                       dropout=dropout)
    return tokenizer, module_config, folder / "model.safetensors"

