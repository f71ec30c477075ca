"""`dlcourse embed` on the CPU with torch and torchvision made unimportable: word2vec's CPU kernel
and GloVe train no torch model, and the queries read model files without torch, so none of these
commands may need it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The folder the commands run in (train writes the models the other verbs read)."""
    return tmp_path_factory.mktemp("no_torch")


@pytest.mark.parametrize("args", [
    ("embed", "train", "lee", "--dry-run", "--dim", "16", "--device", "cpu", "--out", "w2v"),
    ("embed", "train", "lee", "--method", "glove", "--dry-run", "--dim", "8", "--out", "glove"),
    ("embed", "similar", "w2v", "war", "the"),
    ("embed", "analogy", "glove", "man", "king", "woman", "--scoring", "3cosmul"),
    ("embed", "evaluate", "w2v", "--sections"),
    ("embed", "export", "w2v", "--to", "vectors.bin"),
    ("embed", "similar", "vectors.bin", "war"),
    ("embed", "plot", "w2v", "war", "police", "--out", "map.png"),
    ("embed", "train", "--help"),
], ids=lambda a: " ".join(a[1:4]))
def test_embed_commands_need_no_torch(run_without_torch, folder, args):
    # the parameters run in order: train writes the models the other verbs read
    result = run_without_torch(*args, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "torch" not in result.stderr
    if args[1] == "plot":
        assert (folder / "map.png").stat().st_size > 1000
