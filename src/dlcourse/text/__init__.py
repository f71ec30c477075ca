"""Text pipeline shared by the text lessons: tokenizers, vocabulary, one-hot, padding, bucketed
batches, packed sequences and labelled text tables (what torchtext's Field, build_vocab,
BucketIterator and TabularDataset did), and the one way every lesson reads text files.

Names are imported on first use, so reading, tokenizing and vocabularies do not import torch;
only the batching helpers (``one_hot``, ``pad_sequences``, ``PadCollate``,
``BucketBatchSampler``, ...) do.

>>> from torch.utils.data import DataLoader
>>> from dlcourse.text import (BucketBatchSampler, LabelEncoder, PadCollate, TextTable, Vocab,
...                            get_tokenizer)
>>> tok = get_tokenizer("basic_english")
>>> texts, labels = ["A fine film.", "Dull, dull, dull!", "Fine acting"], ["pos", "neg", "pos"]
>>> vocab = Vocab.build(tok.stream(texts), max_size=10000, min_freq=1)
>>> enc = LabelEncoder().fit(labels)
>>> data = TextTable(texts, labels).encode(tok, vocab, enc)   # [(ids, label_id), ...]
>>> sampler = BucketBatchSampler([len(ids) for ids, _ in data], batch_size=2)
>>> loader = DataLoader(data, batch_sampler=sampler, collate_fn=PadCollate(vocab.pad_id))
>>> padded, lengths, y = next(iter(loader))
>>> padded.dim(), padded.shape[1] == int(lengths.max())
(2, True)
"""

from __future__ import annotations

import lazy_loader

# submodule -> the public names it provides, each imported on first use (PEP 562)
__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "batching": ["BucketBatchSampler", "PadCollate", "lengths_to_mask", "one_hot", "pack_padded",
                 "pad_sequences", "padding_fraction"],
    "config": ["TableConfig", "TokenizerConfig", "VocabConfig"],
    "formats": ["TABLE_SUFFIXES", "choose_delimiter", "is_table", "table_format"],
    "labels": ["LabelEncoder"],
    "reading": ["check_encoding", "check_text_file", "iter_lines", "read_text", "read_text_lines"],
    "tabular": ["TextTable", "load_table"],
    "spacy_tokenizer": ["SpacyTokenizer"],
    "tokenizers": ["TOKENIZERS", "BasicEnglishTokenizer", "FunctionTokenizer", "RegexTokenizer",
                   "Tokenizer", "WhitespaceTokenizer", "basic_english", "get_tokenizer",
                   "tokenizer_from_config"],
    "torchtext_vocab": ["build_vocab_from_iterator"],
    "vocab": ["UnknownTokenError", "Vocab"],
    "wordpiece": ["WordPieceTokenizer"],
})
