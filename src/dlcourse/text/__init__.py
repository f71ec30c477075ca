"""Text pipeline shared by the text lessons: tokenizers, vocabulary, one-hot, padding, bucketed
batches, packed sequences and labelled text tables (what torchtext's Field, build_vocab,
BucketIterator and TabularDataset did)."""

from dlcourse.text.batching import (
    BucketBatchSampler,
    PadCollate,
    lengths_to_mask,
    one_hot,
    pack_padded,
    pad_sequences,
    padding_fraction,
)
from dlcourse.text.tabular import LabelEncoder, TextTable, load_table
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
    "lengths_to_mask",
    "load_table",
    "one_hot",
    "pack_padded",
    "pad_sequences",
    "padding_fraction",
    "tokenizer_from_config",
]
