"""Commands that train no torch model run with torch made unimportable (they start fast).

The data commands are here; the SOM, embeddings and text commands are checked in their own
test folders with the same ``run_without_torch`` fixture.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("args", [
    ("data", "list"),
    ("data", "info", "lee"),
    ("data", "verify", "lee"),
    ("data", "fetch", "--no-download", "lee", "wordsim353"),
    ("--help",),
])
def test_data_commands_need_no_torch(run_without_torch, tmp_path, args):
    result = run_without_torch(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "torch" not in result.stderr


def test_data_remove_needs_no_torch(run_without_torch, isolated_cache, tmp_path):
    (isolated_cache / "features").mkdir(parents=True)  # a cache of its own: it deletes
    (isolated_cache / "features" / "x.pt").write_bytes(b"0" * 100)
    result = run_without_torch("data", "remove", "ptb", "--derived", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "removed features" in result.stdout and "torch" not in result.stderr
