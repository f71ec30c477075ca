"""Shared fixtures: every test runs with its own cache unless it asks for the real one."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DLCOURSE_PROGRESS", "0")
# Tests never download: data comes from installed packages or the cache that `make test` fills
# (`dlcourse data fetch --offline`); the data-layer tests lift this for their local server.
os.environ.setdefault("DLCOURSE_OFFLINE", "1")


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """An empty DLCOURSE_HOME for tests that exercise fetching."""
    home = tmp_path / "cache"
    monkeypatch.setenv("DLCOURSE_HOME", str(home))
    monkeypatch.delenv("DLCOURSE_OFFLINE", raising=False)
    return home
