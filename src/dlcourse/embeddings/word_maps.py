"""Which words a 2-D word map shows: each probe word and its nearest neighbours, grouped by
probe (what ``dlcourse embed plot`` and the lesson draw)."""

from __future__ import annotations

from collections.abc import Sequence

from dlcourse.embeddings.vectors import KeyedVectors


def words_and_neighbors(kv: KeyedVectors, probes: Sequence[str], topn: int = 5
                        ) -> tuple[list[str], list[int]]:
    """Each probe followed by its ``topn`` nearest words (no repeats; a probe is not listed as
    another probe's neighbour), with the probe's group id.

    Args:
        kv: the vectors.
        probes: the words to map.
        topn: neighbours per probe.

    Returns:
        ``(words, groups)`` ready for :func:`dlcourse.plots.embeddings.plot_word_map`.

    Raises:
        DlcourseError: a probe not in the vocabulary.
    """
    words: list[str] = []
    groups: list[int] = []
    # a probe heads its own group even when it is also an earlier probe's neighbour
    seen: set[str] = set(probes)
    for g, probe in enumerate(dict.fromkeys(probes)):
        words.append(probe)
        groups.append(g)
        for word, _ in kv.most_similar(probe, topn=topn):
            if word not in seen:
                seen.add(word)
                words.append(word)
                groups.append(g)
    return words, groups
