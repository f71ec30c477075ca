"""What the embeddings benchmarks share: the corpus, the evaluation sets, paired-run summaries."""

from __future__ import annotations

import importlib.util
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

W2V_PARAMS = dict(vector_size=100, window=5, min_count=5, negative=5, sample=1e-3, alpha=0.025,
                  min_alpha=1e-4)


def glosses() -> list[list[str]]:
    """The WordNet glosses (117,659 sentences, 1.46M words), tokenized."""
    from dlcourse.data.readers import read_wordnet_glosses
    from dlcourse.embeddings import tokenize

    return [tokenize(g) for g in read_wordnet_glosses()]


def write_corpus(path: Path, sentences: list[list[str]], copies: int = 1) -> int:
    """Write ``sentences`` ``copies`` times, one a line, words joined by blanks; returns words."""
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(copies):
            f.writelines(" ".join(s) + "\n" for s in sentences)
    return copies * sum(len(s) for s in sentences)


def simlex_path() -> Path | None:
    """SimLex-999 as gensim's wheel ships it (test data), found without importing gensim."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "test" / "test_data" / "simlex999.txt"
    return path if path.is_file() else None


def quality(kv) -> dict:
    """WordSim-353 and SimLex-999 Spearman rho and Google analogy accuracy of ``kv``."""
    from dlcourse.embeddings import evaluate_analogies, evaluate_similarity

    simlex = simlex_path()
    return {"wordsim_rho": evaluate_similarity(kv)["spearman"],
            "simlex_rho": evaluate_similarity(kv, simlex)["spearman"] if simlex else float("nan"),
            "analogy_acc": evaluate_analogies(kv)["accuracy"]}


def run_timed(cmd: list, env: dict | None = None) -> tuple[float, float]:
    """Run ``cmd`` (output discarded); returns (wall seconds, its peak RSS in MB).

    The peak RSS comes from GNU time when installed: a child started straight from a large
    Python process inherits that process's high-water mark through exec, ``wait4`` included.
    """
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").is_file()
                                        else None)
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        prefix = [gnu_time, "-f", "%M", "-o", rss.name] if gnu_time else []
        start = time.perf_counter()
        proc = subprocess.run([*prefix, *(str(c) for c in cmd)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{cmd[:4]} failed:\n{proc.stderr.decode()[-2000:]}")
        peak = float(rss.read().split()[-1]) / 1024 if gnu_time else float("nan")
    return seconds, peak


def spread(values: list[float]) -> str:
    """``median [min-max]`` of ``values``."""
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def load_note() -> str:
    """The machine: cores and the 1-minute load average (other users' processes included)."""
    return f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"


def quality_lines(rows: list[dict], peer: str, ours: str, key: str) -> list[str]:
    """Per group ``key`` value: mean quality of ``ours`` minus ``peer`` against the targets."""
    lines = []
    for group in dict.fromkeys(r[key] for r in rows):
        mean = {impl: {q: statistics.fmean(r[q] for r in rows if r[key] == group
                                           and r["impl"] == impl)
                       for q in ("wordsim_rho", "simlex_rho", "analogy_acc")}
                for impl in (peer, ours)}
        d = {q: mean[ours][q] - mean[peer][q] for q in mean[ours]}
        # the targets bound a loss of quality; a gain beyond them is no failure
        floor = {"wordsim_rho": -0.01, "simlex_rho": -0.01, "analogy_acc": -0.005}
        missed = [q for q in d if d[q] < floor[q]]
        lines.append(
            f"{group}: quality ({ours} - {peer}, means over seeds): wordsim rho "
            f"{mean[ours]['wordsim_rho']:.4f} vs {mean[peer]['wordsim_rho']:.4f} "
            f"({d['wordsim_rho']:+.4f}, target >= -0.01), simlex rho "
            f"{mean[ours]['simlex_rho']:.4f} vs {mean[peer]['simlex_rho']:.4f} "
            f"({d['simlex_rho']:+.4f}, target >= -0.01), analogy acc "
            f"{mean[ours]['analogy_acc']:.4f} vs {mean[peer]['analogy_acc']:.4f} "
            f"({d['analogy_acc']:+.4f}, target >= -0.005): "
            + ("MISSED " + ", ".join(missed) if missed else "met"))
    return lines
