"""The samplers' tables of word2vec: which words frequent-word subsampling keeps, and Walker's
alias table for the noise words (numpy alone)."""

from __future__ import annotations

import numpy as np


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """Frequent-word subsampling: probability of keeping each word (word2vec's formula).

    keep = (sqrt(c / t) + 1) * t / c with t = sample * total count, capped at 1; ``sample=0``
    keeps everything.
    """
    if sample <= 0:
        return np.ones(len(counts), dtype=np.float32)
    threshold = sample * counts.sum()
    keep = (np.sqrt(counts / threshold) + 1) * threshold / counts
    return np.minimum(keep, 1.0).astype(np.float32)


def alias_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table for O(1) sampling from ``weights`` (V,).

    Returns ``(prob, alias)``: draw i uniformly, keep it with probability prob[i], else alias[i].
    """
    n = len(weights)
    scaled = weights / weights.sum() * n  # (V,) mean 1
    prob = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int32)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return prob.astype(np.float32), alias
