"""Text pipeline shared by the text lessons: tokenizers, vocabulary, one-hot, padding, bucketed
batches, packed sequences and labelled text tables (what torchtext's Field, build_vocab,
BucketIterator and TabularDataset did).

>>> from torch.utils.data import DataLoader
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

from dlcourse.text.batching import (
    BucketBatchSampler,
    PadCollate,
    lengths_to_mask,
    one_hot,
    pack_padded,
    pad_sequences,
    padding_fraction,
)
from dlcourse.text.tabular import LabelEncoder, TextTable, iter_lines, load_table
from dlcourse.text.tokenizers import (
    TOKENIZERS,
    BasicEnglishTokenizer,
    RegexTokenizer,
    SpacyTokenizer,
    Tokenizer,
    WhitespaceTokenizer,
    basic_english,
    get_tokenizer,
    tokenizer_from_config,
)
from dlcourse.text.vocab import UnknownTokenError, Vocab
from dlcourse.text.wordpiece import WordPieceTokenizer

__all__ = [
    "TOKENIZERS",
    "BasicEnglishTokenizer",
    "BucketBatchSampler",
    "LabelEncoder",
    "PadCollate",
    "RegexTokenizer",
    "SpacyTokenizer",
    "TextTable",
    "Tokenizer",
    "UnknownTokenError",
    "Vocab",
    "WhitespaceTokenizer",
    "WordPieceTokenizer",
    "basic_english",
    "get_tokenizer",
    "iter_lines",
    "lengths_to_mask",
    "load_table",
    "one_hot",
    "pack_padded",
    "pad_sequences",
    "padding_fraction",
    "tokenizer_from_config",
]
