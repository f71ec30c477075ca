"""Training texts that would leave a word-vector classifier's vocabulary no word: refused with one
message, by the CLI before its progress lines (:func:`check_words`) and by ``fit``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from dlcourse.classify.config import ClassifierConfig, architecture
from dlcourse.classify.encoding import text_list
from dlcourse.errors import InputError

SPECIALS = ("<pad>", "<unk>")


def check_words(texts: Sequence[str], config: ClassifierConfig) -> None:
    """Refuse training texts that would leave a word-vector model's vocabulary no word (no text
    has a token, or no word is seen ``min_freq`` times), with :meth:`TextClassifier.fit`'s
    message, before any model is built: the CLI calls it before its progress lines. It stops
    at the first word seen ``min_freq`` times, so a usual setting tokenizes a few dozen texts;
    only a refusal reads them all. (minilm's own vocabulary is checked by ``fit``.)

    Raises:
        InputError: the vocabulary would hold no word.
    """
    from dlcourse.text import get_tokenizer

    config = config.validate()
    if architecture(config.model) == "bert":
        return
    tokenizer, texts = get_tokenizer(config.tokenizer), text_list(texts)
    counts: Counter[str] = Counter()
    start, step = 0, 64
    while start < len(texts):  # growing chunks: an early answer, then C-speed counting
        for tokens in tokenizer.batch(texts[start:start + step]):
            counts.update(tokens)
        start, step = start + step, step * 2
        if any(n >= config.min_freq for word, n in counts.items() if word not in SPECIALS):
            return
    raise _no_words_in(counts, len(texts), config)


def no_words_error(token_lists: Sequence[Sequence[str]], config: ClassifierConfig) -> InputError:
    """The error for training texts that leave the vocabulary no word: none has a token, or
    none is seen ``min_freq`` times (the most frequent word is named)."""
    return _no_words_in(Counter(t for tokens in token_lists for t in tokens), len(token_lists),
                        config)


def _no_words_in(counts: Counter, n_texts: int, config: ClassifierConfig) -> InputError:
    """:func:`no_words_error` from the token counts of ``n_texts`` texts."""
    counts = Counter({t: n for t, n in counts.items() if t not in SPECIALS})
    if not counts:
        return InputError(f"no training text has a word ({n_texts} texts, all empty "
                          f"or only what the {config.tokenizer} tokenizer drops); give texts "
                          "with words")
    word, top = counts.most_common(1)[0]
    return InputError(f"min_freq={config.min_freq} leaves no word in the vocabulary (the most "
                      f"frequent of the {len(counts)} training words, {word!r}, is seen {top} "
                      f"time{'s' if top > 1 else ''}); lower min_freq or give more texts")
