"""GloVe and the torch word2vec path under torchrun: 2 gloo processes give the result of one.

One launch of ``embed_ddp_worker.py`` (about 20-40 s) serves the first tests; the CLI test
launches ``dlcourse embed train`` once more.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dlcourse.cli.main import main
from dlcourse.embeddings import GloVe, KeyedVectors, Word2Vec, count_cooccurrences
from dlcourse.engine.distributed import launch, launch_output

WORKER = Path(__file__).with_name("embed_ddp_worker.py")
_spec = importlib.util.spec_from_file_location("embed_ddp_worker", WORKER)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)  # its settings and corpus, without touching sys.path


def torchrun(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """ARGS in 2 gloo processes, one thread each."""
    return launch(args, 2, timeout=timeout)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Both ranks' saved results from one 2-process run of the worker."""
    out = tmp_path_factory.mktemp("ddp")
    result = torchrun(str(WORKER), str(out))
    assert result.returncode == 0, launch_output(result)
    return np.load(out / "rank0.npz"), np.load(out / "rank1.npz")


@pytest.mark.slow
def test_cooccurrence_table_is_the_single_process_one(ranks):
    rows, cols, vals = count_cooccurrences(worker.sentences(), worker.key_to_index(),
                                           **worker.COUNT)
    for r in ranks:  # each rank counted half the sentences; the merged table is exact
        np.testing.assert_array_equal(r["rows"], rows)
        np.testing.assert_array_equal(r["cols"], cols)
        np.testing.assert_array_equal(r["vals"], vals)


@pytest.mark.slow
def test_glove_on_two_ranks_is_glove_on_one(ranks):
    r0, r1 = ranks
    np.testing.assert_array_equal(r0["glove"], r1["glove"])
    # 2 ranks x 1 thread and 1 process x 2 threads run the same P = 2 block schedule
    single = GloVe(**{**worker.GLOVE, "workers": 2}).fit(worker.sentences())
    np.testing.assert_array_equal(r0["glove"], single.wv.vectors)
    np.testing.assert_array_equal(r0["glove_loss"], [h["loss"] for h in single.history_])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(worker.WORD2VEC))
def test_torch_word2vec_ranks_agree_and_match_one_process(ranks, name):
    r0, r1 = ranks
    np.testing.assert_array_equal(r0[name], r1[name])  # every rank applies the same updates
    single = Word2Vec(**worker.WORD2VEC[name]).fit(worker.sentences())
    # the same SGD on the same global batches; only the per-slice float rounding differs
    # (measured: 0 for skip-gram, 3e-8 for CBOW with an odd batch, on vectors of size ~1)
    np.testing.assert_allclose(r0[name], single.wv.vectors, rtol=0, atol=1e-5)
    np.testing.assert_allclose(r0[f"{name}_loss"], [h["loss"] for h in single.history_],
                               rtol=1e-6)


@pytest.mark.slow
def test_numba_backend_refuses_to_train_copies(ranks):
    assert "under torchrun" in str(ranks[0]["numba_error"])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["glove", "skipgram"])
def test_cli_under_torchrun_writes_once_and_matches_one_process(tmp_path, method):
    args = ["embed", "train", "lee", "--method", method, "--dim", "12", "--dry-run"]
    result = torchrun("-m", "dlcourse", *args, "--workers", "1", "--out", str(tmp_path / "two"))
    assert result.returncode == 0, launch_output(result)
    assert result.stdout.count("words x 12 dims") == 1  # rank 0 reports and writes
    two = KeyedVectors.load(tmp_path / "two")
    if method == "glove":  # 2 ranks x 1 thread: the block schedule of 1 process x 2 threads
        main([*args, "--workers", "2", "--out", str(tmp_path / "one")])
        np.testing.assert_array_equal(two.vectors, KeyedVectors.load(tmp_path / "one").vectors)
    else:  # under torchrun the CLI's word2vec takes the torch path: one process on that path
        one = Word2Vec(method="skipgram", vector_size=12, min_count=2, epochs=1, seed=0,
                       backend="torch").fit(worker.sentences()[:300])
        assert two.index_to_key == one.wv.index_to_key
        np.testing.assert_allclose(two.vectors, one.wv.vectors, rtol=0, atol=1e-5)
