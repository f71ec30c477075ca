"""Batched torch word2vec (the GPU path): pairs built and SGD updates applied on the device.

The gradients of the negative-sampling loss are written out by hand and applied with
``index_add_`` (duplicate words in a batch add up), so no autograd graph or optimizer state is
kept: the same plain SGD with linear learning-rate decay as the CPU kernel.

Few, large kernels: a GPU is fed by kernel launches, and the first version of this path ran
about 66 torch operations per 1,024 predictions from a Python loop (batches of 1,024, the pairs
built by numpy on the host), so launches, not arithmetic, set its speed. Now a block (about a
million words) moves to the device as its word ids (4 bytes a word) and everything that does
not depend on the weights is done there once per block: subsampling, the reduced windows, the
pairs and their shuffle, one ``multinomial`` for all the block's noise words, the (pairs,
1 + K) output ids and their validity mask. A step then runs over ``batch_size`` (16,384 by
default) predictions: two gathers, two batched matrix products (the scores, and the input
gradient), the sigmoid and the loss, the duplicate caps and two ``index_add_`` updates
(skip-gram inputs are single words: no mask or sum). Counted with torch's profiler on the Lee
corpus: 3.9 operations per 1,024 skip-gram predictions and 8.9 per 1,024 CBOW windows, against
66 and 69 before.

Under torchrun every rank holds the whole tables and builds the same pairs, order and negatives
(same seeds); of each global batch a rank computes the gradient factors of its 1/N slice, the
ranks all-gather those factors (D + 1 + K floats a pair: dL/dh and the output coefficients; the
input vectors h every rank recomputes from its tables), and every rank applies the whole
batch's update. So N ranks run the SGD of one process with the same batch (to float rounding)
and hold identical tables. Not DDP: its dense all-reduce of the V x D gradients every step
would move far more than these sparse updates; not periodic averaging, which would make results
depend on N. The price: every rank builds all pairs and applies every update, so on a CPU more
ranks barely pay (see benchmarks/bench_word2vec.py --distributed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dlcourse.embeddings.ranks import any_rank
from dlcourse.embeddings.word2vec_cpu import EpochProgress
from dlcourse.engine.distributed import rank_device

DUPLICATE_CAP = 128.0  # about the draws per batch of the most frequent noise word at batch 1,024


class TorchTrainer:
    """Trains ``w_in``/``w_out`` (copied to the device) block by block; see ``Word2Vec.fit``.

    The start arrays are new random ones, a checkpoint's, or a trained model's copies for a
    continued ``train``; on the CPU the tensors share their memory, so they change in place.

    Ctrl-C is honoured between blocks: the generator's state is saved with the checkpoint, so
    a resumed run draws the same pairs and noise words (bit for bit on a CPU; a GPU's
    ``index_add_`` adds duplicate rows in any order).
    """

    def __init__(self, cfg: Any, w_in: np.ndarray, w_out: np.ndarray, keep: np.ndarray,
                 noise: np.ndarray, rank: int = 0, world: int = 1) -> None:
        self.cfg = cfg
        self.rank, self.world = rank, world
        self.comm_seconds = 0.0  # in collectives (synchronous on gloo; queued on nccl)
        self.device = rank_device(cfg.device)  # under torchrun: this rank's GPU
        self.w_in = torch.from_numpy(w_in).to(self.device)  # (V, D)
        self.w_out = torch.from_numpy(w_out).to(self.device)  # (V, D)
        self.keep = torch.as_tensor(keep, dtype=torch.float32, device=self.device)  # (V,)
        self.noise = torch.as_tensor(noise / noise.sum(), dtype=torch.float32,
                                     device=self.device)  # (V,)
        self.gen = torch.Generator(device=self.device).manual_seed(cfg.seed)
        # the true word first, then K noise words: label 1, then 0s; the loss of a score s is
        # softplus(-s) for the true word and softplus(s) for a noise word
        label = torch.zeros(1 + cfg.negative, device=self.device)
        label[0] = 1.0
        self.label, self.sign = label, 1.0 - 2.0 * label  # (1+K,) each

    # ------------------------------------------------------------------ checkpoints
    def restore(self, arrays: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        """Continue from a checkpoint's generator state (the weights came in the constructor)."""
        self.gen.set_state(torch.from_numpy(np.array(arrays["torch_rng"], dtype=np.uint8)))

    def arrays(self) -> dict[str, np.ndarray]:
        """The working arrays a checkpoint holds, the torch generator's state among them."""
        w_in, w_out = self.weights()
        return {"w_in": w_in, "w_out": w_out, "torch_rng": self.gen.get_state().numpy()}

    def extra(self) -> dict[str, Any]:
        """Plain values a checkpoint holds: none (the generator's state is an array)."""
        return {}

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """(input vectors, output vectors) as numpy arrays, each (V, D)."""
        return self.w_in.cpu().numpy(), self.w_out.cpu().numpy()

    # ------------------------------------------------------------------ training
    def train_epoch(self, blocks: Iterable, seed: int, done_before: int, total: float,
                    start: EpochProgress, guard: Any,
                    report: Callable[[float, int, int], None] | None) -> EpochProgress:
        """One pass over ``blocks`` from block ``start.done`` on (see ``NumbaTrainer``)."""
        progress = EpochProgress(**{**start.to_values(), "stopped": False})
        done = done_before
        blocks = iter(blocks)
        for tokens, _, _ in islice(blocks, start.done):  # finished before a stop
            done += len(tokens)
        for tokens, starts, raw in blocks:
            if any_rank([guard.should_stop()], self.world)[0]:  # every rank stops together
                progress.stopped = True
                break
            loss, n = self._train_block(tokens, starts, done, total, guard)
            done += len(tokens)
            progress.done += 1
            progress.loss += loss
            progress.outputs += n
            progress.words += raw
            if report is not None:
                report(progress.loss, progress.outputs, progress.words)
        return progress

    def _pairs(self, tokens: np.ndarray, starts: np.ndarray
               ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Subsample, then the (inputs, mask, targets) of every prediction of a block, shuffled,
        built on the device from the block's ids (the one transfer: 4 bytes a word).

        Skip-gram: inputs (P,) context ids, mask None, targets (P,) centre ids. CBOW: inputs
        (P, 2W) context ids with their validity mask (P, 2W), targets (P,).
        """
        cfg, dev, gen = self.cfg, self.device, self.gen
        tokens_t = torch.from_numpy(tokens).to(dev, torch.int64)  # (N,)
        lengths = torch.from_numpy(np.diff(starts)).to(dev)  # (S,)
        sent = torch.repeat_interleave(torch.arange(len(lengths), device=dev), lengths)  # (N,)
        kept = torch.rand(len(tokens_t), generator=gen, device=dev) < self.keep[tokens_t]
        ids, sent = tokens_t[kept], sent[kept]  # (N',) each
        n = len(ids)
        # reduced window: 1..W words each side, drawn per position
        reach = cfg.window - torch.randint(0, cfg.window, (n,), generator=gen, device=dev)
        ctx = torch.zeros((n, 2 * cfg.window), dtype=torch.int64, device=dev)  # (N', 2W)
        mask = torch.zeros((n, 2 * cfg.window), dtype=torch.bool, device=dev)
        for o in range(1, min(cfg.window, n - 1) + 1):
            # right neighbour at distance o (same sentence, within the reach), then left
            mask[:n - o, 2 * o - 2] = (sent[:n - o] == sent[o:]) & (o <= reach[:n - o])
            ctx[:n - o, 2 * o - 2] = ids[o:]
            mask[o:, 2 * o - 1] = (sent[o:] == sent[:n - o]) & (o <= reach[o:])
            ctx[o:, 2 * o - 1] = ids[:n - o]
        if cfg.method == "skipgram":
            rows, cols = mask.nonzero(as_tuple=True)  # one host sync a block: the pair count
            # gensim's convention: the context word's input vector predicts the centre word
            inputs, mask, targets = ctx[rows, cols], None, ids[rows]
        else:
            has = mask.any(dim=1)
            inputs, mask, targets = ctx[has], mask[has], ids[has]
        order = torch.randperm(len(targets), generator=gen, device=dev)
        return inputs[order], None if mask is None else mask[order], targets[order]

    def _train_block(self, tokens: np.ndarray, starts: np.ndarray, done_before: int,
                     total: float, guard: Any) -> tuple[float, int]:
        """Every prediction of a block, ``batch_size`` at a time; returns (loss sum, count)."""
        cfg, dev = self.cfg, self.device
        inputs, mask, targets = self._pairs(tokens, starts)
        weights = None
        if mask is not None:  # CBOW: each context word's share of the window's vector
            m = mask.to(torch.float32)  # (P, 2W)
            count = m.sum(1, keepdim=True).clamp_min(1)  # (P, 1)
            weights = m / count if cfg.cbow_mean else m
            # the summed input (cbow_mean off) spreads its error over the window
            grad_share = m if cfg.cbow_mean else m / count  # (P, 2W)
        n = len(targets)
        # all the block's noise words in one draw (the same on every rank), then the output
        # ids of each prediction: the true word, then K noise words; a noise word that is the
        # true word is skipped, as in the CPU kernel
        negs = torch.multinomial(self.noise, max(n, 1) * cfg.negative, replacement=True,
                                 generator=self.gen)[:n * cfg.negative].view(n, cfg.negative)
        outputs = torch.cat([targets[:, None], negs], dim=1)  # (P, 1+K)
        valid = torch.ones(outputs.shape, device=dev)
        valid[:, 1:] = (negs != targets[:, None]).to(torch.float32)  # (P, 1+K)
        loss_sum = torch.zeros((), dtype=torch.float64, device=dev)  # no host sync per step
        bs = cfg.batch_size
        for b in range(0, n, bs):
            progress = (done_before + len(tokens) * b / max(n, 1)) / total
            alpha = max(cfg.alpha - (cfg.alpha - cfg.min_alpha) * progress, cfg.min_alpha)
            sl = slice(b, b + bs)
            loss_sum += self._step(inputs[sl], None if weights is None else weights[sl],
                                   None if weights is None else grad_share[sl], outputs[sl],
                                   valid[sl], alpha)
            guard.step()
        if self.world > 1:
            from dlcourse.engine.distributed import all_reduce_sum

            loss_sum = all_reduce_sum(loss_sum)  # each rank summed its slices' losses
            if dev.type != "cpu":
                # GPU index_add_ adds duplicates in any order: keep the ranks' bits identical
                torch.distributed.broadcast(self.w_in, 0)
                torch.distributed.broadcast(self.w_out, 0)
        return float(loss_sum), n

    @torch.no_grad()
    def _step(self, inputs, weights, grad_share, outputs, valid, alpha: float) -> torch.Tensor:
        """One SGD step on a batch; returns the summed loss of this rank's slice (0-d tensor).

        inputs (B,) skip-gram ids or (B, C) CBOW ids with their ``weights`` (B, C) in the
        window's vector and ``grad_share`` (B, C) of its gradient; outputs (B, 1+K) ids with
        ``valid`` (B, 1+K) 1/0.
        """
        dim = self.w_in.shape[1]
        if weights is None:
            h = self.w_in[inputs]  # (B, D)
        else:
            h = torch.bmm(weights[:, None, :], self.w_in[inputs]).squeeze(1)  # (B, D)
        bsz = outputs.shape[0]
        cuts = [bsz * r // self.world for r in range(self.world + 1)]  # rank r: cuts[r]:cuts[r+1]
        lo, hi = cuts[self.rank], cuts[self.rank + 1]
        factors, loss = self._gradients(h[lo:hi], outputs[lo:hi], valid[lo:hi], alpha)
        if self.world > 1:
            start = time.perf_counter()
            factors = _all_gather_rows(factors, np.diff(cuts))
            self.comm_seconds += time.perf_counter() - start
        grad_h, g = factors[:, :dim], factors[:, dim:]  # (B, D), (B, 1+K)
        flat = outputs.reshape(-1)  # (B*(1+K),)
        g = g * self._row_scale(flat).view_as(g)  # (B, 1+K)
        self.w_out.index_add_(0, flat, (g[..., None] * h[:, None, :]).view(-1, dim))
        if weights is None:
            self.w_in.index_add_(0, inputs, grad_h * self._row_scale(inputs)[:, None])
        else:
            flat = inputs.reshape(-1)  # (B*C,)
            share = grad_share * self._row_scale(flat, grad_share.reshape(-1)).view_as(grad_share)
            upd = share[..., None] * grad_h[:, None, :]  # (B, C, D)
            self.w_in.index_add_(0, flat, upd.view(-1, dim))
        return loss

    def _row_scale(self, ids: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Each entry's share of its row's update: min(1, DUPLICATE_CAP / the row's count in
        the batch); ids (n,), weights (n,) or None (every entry counts 1).

        A row met n times in a batch gets the sum of n updates at once, where sequential SGD
        would have damped each after the last: for the most frequent words (noise words above
        all) a large sum overshoots, and batches of 16,384 pairs diverged. Capping the sum at
        about DUPLICATE_CAP plain steps keeps every other row's update the exact SGD sum.
        """
        counts = torch.bincount(ids, weights, minlength=self.w_in.shape[0])  # (V,)
        return (DUPLICATE_CAP / counts.clamp_min(1.0)).clamp_(max=1.0)[ids]

    def _gradients(self, h, outputs, valid, alpha: float):
        """The update factors of a (slice of a) batch: (b, D + 1 + K) rows [dL/dh, g].

        h (b, D) input vectors, outputs (b, 1+K) ids, valid (b, 1+K). The updates are
        w_out[o] += g_o h and w_in[input] += dL/dh with g = (label - sigmoid(s)) alpha.
        Returns (factors, loss sum).
        """
        u = self.w_out[outputs]  # (b, 1+K, D)
        s = torch.bmm(u, h[:, :, None]).squeeze(-1)  # (b, 1+K) scores
        loss = (F.softplus(s * self.sign) * valid).sum()
        g = (self.label - torch.sigmoid(s)).mul_(valid).mul_(alpha)  # (b, 1+K)
        grad_h = torch.bmm(g[:, None, :], u).squeeze(1)  # (b, D)
        return torch.cat([grad_h, g], dim=1), loss


def _all_gather_rows(rows: torch.Tensor, sizes) -> torch.Tensor:
    """Concatenate every rank's ``rows`` (rank r has ``sizes[r]`` of them) in rank order."""
    import torch.distributed as dist

    n = int(max(sizes))
    padded = rows.new_zeros((n, rows.shape[1]))  # all_gather needs equal shapes
    padded[:len(rows)] = rows
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([part[:int(k)] for part, k in zip(parts, sizes)])
