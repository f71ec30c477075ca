"""What :class:`~dlcourse.lm.LanguageModel` does with text: read it as the model was trained
to (:meth:`TextMethods.tokenize`, :meth:`TextMethods.encode`) and write it
(:meth:`TextMethods.generate`)."""

from __future__ import annotations

import torch

from dlcourse.engine.config import whole_number
from dlcourse.errors import InputError
from dlcourse.lm.config import SEED_MAX, TOP_K
from dlcourse.lm.corpus import EOS, UNK
from dlcourse.lm.inference import prompt_text, sample


class TextMethods:
    """:class:`~dlcourse.lm.LanguageModel`'s text methods, a mixin: the host class provides
    ``check_is_fitted``, ``tokenizer_config_``, ``itos_`` and ``model_``."""

    def tokenize(self, text: str) -> list[str]:
        """Tokens of ``text`` with the tokenizer the model was trained with.

        Args:
            text: one string (a line or a whole text).
        """
        from dlcourse.text import tokenizer_from_config

        self.check_is_fitted()
        return tokenizer_from_config(self.tokenizer_config_)(text)

    def encode(self, lines: list[str] | str) -> torch.Tensor:
        """(N,) id stream of ``lines`` (one string is one line) in this model's vocabulary,
        ``<eos>`` after each line.

        Args:
            lines: a list of lines, or one string (one line); lines without words add nothing.
        """
        self.check_is_fitted()
        if isinstance(lines, str):  # not a list of one-character lines
            lines = [lines]
        lines = list(lines) if hasattr(lines, "__iter__") else lines
        if not isinstance(lines, list) or any(not isinstance(x, str) for x in lines):
            raise InputError(f"encode takes a text or a list of texts, got "
                             f"{type(lines).__name__} {lines!r:.60}")
        stoi = {w: i for i, w in enumerate(self.itos_)}
        unk, eos = stoi[UNK], stoi[EOS]
        ids: list[int] = []
        for line in lines:
            tokens = self.tokenize(line)
            if tokens:
                ids.extend(stoi.get(t, unk) for t in tokens)
                ids.append(eos)
        return torch.tensor(ids, dtype=torch.long)

    def generate(
        self,
        prompt: str = "",
        max_tokens: int = 30,
        temperature: float = 1.0,
        top_k: int | None = TOP_K,
        seed: int | None = None,
        stop_at_eos: bool = False,
        allow_unk: bool = False,
    ) -> str:
        """Sample a continuation of ``prompt`` (returned without the prompt; a list of words
        is joined with spaces).

        The prompt is tokenized like the training text and preceded by ``<eos>`` (a sentence
        start); unknown words become ``<unk>``. Same ``seed``, same text.

        Args:
            prompt: conditioning text (may be empty).
            max_tokens: words to draw (1 to 100,000).
            temperature: 0 greedy, < 1 safer, > 1 more varied.
            top_k: restrict each draw to the ``top_k`` most likely words (40, as ``lm
                generate``; 0 or ``None``: all words).
            seed: seed of the sampling generator, 0 to 2**32 - 1 (``None``: nondeterministic).
            stop_at_eos: stop at the end of the sentence; the ``<eos>`` that ends it is a marker,
                not a word, so it is left out (fewer than ``max_tokens`` words: the sentence ended).
            allow_unk: let the sampler draw ``<unk>`` (by default it is never drawn).

        Raises:
            InputError: ``max_tokens``, ``top_k`` or ``seed`` that is not a whole number in
                range (``4.0`` and numpy integers are whole numbers, as in configs); a
                temperature that is negative, NaN or infinite; a prompt that is neither text
                nor a list of words (token ids among them: generate reads words).
        """
        self.check_is_fitted()
        if seed is not None:  # np.int64(1) or 1.0 as a config's seed takes them
            seed = whole_number("seed", seed, 0, SEED_MAX,
                                f"an integer from 0 to {SEED_MAX:,} or None")
        prompt = prompt_text(prompt)
        stoi = {w: i for i, w in enumerate(self.itos_)}
        prompt_ids = [stoi[EOS]] + [stoi.get(t, stoi[UNK]) for t in self.tokenize(prompt)]
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        ids = sample(
            self.model_, prompt_ids, max_tokens, temperature, top_k, generator,
            stop_id=stoi[EOS] if stop_at_eos else None,
            banned_ids=tuple(stoi[w] for w in ("<pad>",) + (() if allow_unk else (UNK,))
                             if w in stoi),
        )
        if stop_at_eos and ids and ids[-1] == stoi[EOS]:
            ids = ids[:-1]
        return " ".join(self.itos_[i] for i in ids)
