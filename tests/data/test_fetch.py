"""The data layer: installed-package and Debian sources, downloads over a local HTTP server,
resume of partial files, checksum failures and the offline message."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from dlcourse.data import DATASETS, Dataset, DebianSource, UrlSource, fetch
from dlcourse.data.downloading import download
from dlcourse.data.fetch import _read_nested
from dlcourse.errors import ChecksumError, DataUnavailableError

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /file.bin with Range support; counts requests."""

    requests: list[str] = []

    def do_GET(self):  # noqa: N802
        RangeHandler.requests.append(self.headers.get("Range") or "")
        if self.path != "/file.bin":
            self.send_error(404)
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
            self.send_response(206)
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RangeHandler.requests = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def register(monkeypatch):
    def add(dataset: Dataset):
        monkeypatch.setitem(DATASETS, dataset.name, dataset)
        return dataset.name

    return add


SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_installed_package_files_need_no_download(isolated_cache):
    directory = fetch("lee", download=False)
    assert directory == isolated_cache / "datasets" / "lee"
    assert len((directory / "lee_background.cor").read_text(encoding="latin-1").splitlines()) == 300


def test_url_download_checked_and_cached(isolated_cache, server, register):
    name = register(
        Dataset(
            "t-url",
            "test",
            {"file.bin": SHA},
            (UrlSource(f"{server}/file.bin", f"sha256:{SHA}", {"file.bin": None}),),
        )
    )
    path = fetch(name) / "file.bin"
    assert path.read_bytes() == PAYLOAD
    count = len(RangeHandler.requests)
    fetch(name)  # cached: no new request
    assert len(RangeHandler.requests) == count


def test_partial_download_resumes(isolated_cache, server):
    target = isolated_cache / "downloads" / "file.bin"
    target.parent.mkdir(parents=True)
    target.with_name("file.bin.part").write_bytes(PAYLOAD[:300_000])
    download(f"{server}/file.bin", target, f"sha256:{SHA}", show_progress=False)
    assert RangeHandler.requests == ["bytes=300000-"]
    assert target.read_bytes() == PAYLOAD
    assert not target.with_name("file.bin.part").exists()


def test_download_takes_a_str_target_and_fails_as_a_dlcourse_error(isolated_cache, server):
    from dlcourse.errors import DlcourseError

    target = isolated_cache / "d" / "file.bin"
    got = download(f"{server}/file.bin", str(target), f"sha256:{SHA}", show_progress=False)
    assert got == target and target.read_bytes() == PAYLOAD  # a str failed at .parent
    # a refused connection is one DlcourseError the CLI prints as "error: ...", not a
    # plain Exception's traceback
    with pytest.raises(DlcourseError, match="download failed"):
        download("http://127.0.0.1:9/a.txt", isolated_cache / "a.txt", show_progress=False,
                 timeout=5)


def test_checksum_mismatch_is_never_used(isolated_cache, server, register):
    bad = "0" * 64
    name = register(
        Dataset(
            "t-bad",
            "test",
            {"file.bin": bad},
            (UrlSource(f"{server}/file.bin", f"sha256:{bad}", {"file.bin": None}),),
        )
    )
    with pytest.raises(DataUnavailableError, match="sha256 does not match"):
        fetch(name)
    assert not (isolated_cache / "datasets" / "t-bad" / "file.bin").exists()
    assert not list((isolated_cache / "downloads").glob("file.bin*"))
    with pytest.raises(ChecksumError):
        download(
            f"{server}/file.bin", isolated_cache / "x.bin", "md5:" + "0" * 32, show_progress=False
        )


def test_offline_message_names_sources_and_fix(isolated_cache, register):
    name = register(
        Dataset(
            "t-offline",
            "test",
            {"a.txt": None},
            (UrlSource("http://127.0.0.1:9/a.txt", None, {"a.txt": None}),),
        )
    )
    with pytest.raises(DataUnavailableError) as info:
        fetch(name)
    message = str(info.value)
    assert "'t-offline'" in message and "http://127.0.0.1:9/a.txt" in message
    assert "dlcourse data fetch t-offline" in message and str(isolated_cache) in message
    assert "\n" not in message


def test_debian_source_copies_installed_files(isolated_cache, tmp_path, register):
    installed = tmp_path / "usr" / "share" / "x.txt"
    installed.parent.mkdir(parents=True)
    installed.write_text("hello")
    sha = hashlib.sha256(b"hello").hexdigest()
    name = register(
        Dataset(
            "t-deb",
            "test",
            {"x.txt": sha},
            (DebianSource("no-such-package", {"x.txt": str(installed)}),),
        )
    )
    assert (fetch(name) / "x.txt").read_text() == "hello"


def test_corrupted_cache_file_is_replaced(isolated_cache, tmp_path, register):
    installed = tmp_path / "y.txt"
    installed.write_text("good")
    sha = hashlib.sha256(b"good").hexdigest()
    name = register(
        Dataset(
            "t-corrupt", "test", {"y.txt": sha}, (DebianSource("none", {"y.txt": str(installed)}),)
        )
    )
    cached = fetch(name) / "y.txt"
    cached.write_text("evil")
    assert (fetch(name) / "y.txt").read_text() == "good"


def test_nested_archive_members():
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as t:
        info = tarfile.TarInfo("dir/data.txt")
        info.size = 5
        t.addfile(info, io.BytesIO(b"inner"))
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as z:
        z.writestr("pkg/archive.tar.gz", inner.getvalue())
    assert _read_nested(outer.getvalue(), ("pkg/archive.tar.gz", "dir/data.txt")) == b"inner"


def test_registry_covers_every_lesson():
    for name in [
        "ptb",
        "wikitext-2",
        "cifar-10",
        "imdb",
        "resnet18-imagenet",
        "wordnet",
        "lee",
        "rt-sentences",
        "glove-6b-50d",
        "bert-base-uncased-vocab",
        "fashion-mnist",
        "mnist-5k",
        "efficientnet-lite0",
        "questions-words",
        "wordsim353",
    ]:
        assert name in DATASETS
    for ds in DATASETS.values():
        assert ds.sources and ds.files
        if ds.offline:
            assert all(sha and len(sha) == 64 for sha in ds.files.values()), ds.name


def test_readers_on_installed_data(isolated_cache):
    from dlcourse.data.readers import read_lee, read_pang_lee_sample, split_indices

    assert len(read_lee()) == 300 and len(read_lee(background=False)) == 50
    rows = read_pang_lee_sample()
    assert len(rows) == 200 and {label for _, label in rows} == {"pos", "neg"}
    labels = [label for _, label in rows]
    train, valid, test = split_indices(len(rows), (0.8, 0.1, 0.1), seed=1, stratify=labels)
    assert sorted(list(train) + list(valid) + list(test)) == list(range(200))
    assert sum(labels[i] == "pos" for i in valid) == 10


def test_small_stratified_split_leaves_no_part_empty():
    """Ten rows of five classes: each class rounds its 10% to no row, yet the valid and test
    parts each get the row that their share of ten asks for; parts a share cannot fill
    (three rows, 10%) stay empty."""
    import numpy as np

    from dlcourse.data.readers import split_indices

    parts = split_indices(10, (0.8, 0.1, 0.1), seed=0, stratify=np.repeat(np.arange(5), 2))
    assert [len(p) for p in parts] == [8, 1, 1]
    assert sorted(np.concatenate(parts).tolist()) == list(range(10))
    assert [len(p) for p in split_indices(3, (0.8, 0.1, 0.1), seed=0, stratify=[0, 1, 1])] \
        == [3, 0, 0]


def test_idx_reader(tmp_path):
    import gzip

    import numpy as np

    from dlcourse.data.readers import read_idx

    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = (
        bytes([0, 0, 8, 3])
        + b"".join(int(d).to_bytes(4, "big") for d in images.shape)
        + images.tobytes()
    )
    path = Path(tmp_path / "x-idx3-ubyte.gz")
    path.write_bytes(gzip.compress(raw))
    assert (read_idx(path) == images).all()


def test_a_failed_fetch_leaves_the_cache_as_it_was(isolated_cache):
    with pytest.raises(DataUnavailableError):
        fetch("cifar-10", download=False)
    assert not (isolated_cache / "datasets" / "cifar-10").exists()
    assert not list(isolated_cache.rglob("*")) or all(p.is_file() for p in
                                                      isolated_cache.rglob("*"))


def test_old_names_are_accepted(isolated_cache):
    from dlcourse.data import canonical_name, get_dataset

    assert canonical_name("cifar10") == "cifar-10" and get_dataset("cifar100").name == "cifar-100"


def test_concurrent_fetches_download_once(isolated_cache, server, register):
    """torchrun ranks asking for the same data at once: one downloads, the others wait."""
    name = register(Dataset("t-lock", "test", {"file.bin": SHA},
                            (UrlSource(f"{server}/file.bin", f"sha256:{SHA}",
                                       {"file.bin": None}),)))
    results, errors = [], []

    def worker():
        try:
            results.append(fetch(name))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    assert len(RangeHandler.requests) == 1
    assert (results[0] / "file.bin").read_bytes() == PAYLOAD


def test_an_edited_file_with_the_same_size_and_mtime_is_caught(isolated_cache):
    import os

    from dlcourse.data import verify

    directory = fetch("lee", download=False)
    file = directory / "lee.cor"
    before = file.stat()
    data = bytearray(file.read_bytes())
    data[100] ^= 1
    file.write_bytes(bytes(data))
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))  # hide the edit's mtime
    assert file.stat().st_size == before.st_size
    assert verify("lee") == ["lee.cor"]
    fetch("lee", download=False)  # repaired from the installed package
    assert verify("lee") == []


def test_files_get_the_usual_permissions(isolated_cache):
    import os

    old = os.umask(0o022)
    try:
        directory = fetch("wordsim353", download=False)
    finally:
        os.umask(old)
    assert (directory / "wordsim353.tsv").stat().st_mode & 0o777 == 0o644


def test_a_read_only_cache_uses_the_installed_package_or_says_what_to_do(isolated_cache,
                                                                          monkeypatch):
    import importlib

    from dlcourse.errors import DlcourseError

    fetch_module = importlib.import_module("dlcourse.data.fetch")  # not the fetch() function

    monkeypatch.setattr(fetch_module, "writable_cache", lambda directory: False)
    folder = fetch("lee")
    assert (folder / "lee_background.cor").exists() and "gensim" in str(folder)
    assert not (isolated_cache / "datasets").exists()
    with pytest.raises(DlcourseError, match="not writable.*DLCOURSE_HOME"):
        fetch("rt-sentences")


def test_data_verify_command(isolated_cache, cli_run):
    fetch("wordsim353", download=False)
    result = cli_run("data", "verify")
    assert result.code == 0 and "wordsim353: ok" in result.out
    (isolated_cache / "datasets" / "wordsim353" / "wordsim353.tsv").write_text("broken")
    cli_run("data", "verify", "wordsim353").assert_user_error("failed verification", report=True)


def test_data_verify_says_not_fetched_apart_from_damaged(isolated_cache, cli_run):
    """A set never fetched is one line naming the fetch command, before any other output; a
    damaged one is reported as such (both exit 2)."""
    result = cli_run("data", "verify", "ptb")
    result.assert_user_error(r"^error: ptb is not fetched, so there is nothing to verify; run "
                             r"`dlcourse data fetch ptb` first$")
    assert result.out == ""
    fetch("wordsim353", download=False)
    cli_run("data", "verify", "wordsim353", "ptb", "text8").assert_user_error(
        r"ptb, text8 are not fetched.*`dlcourse data fetch ptb text8`")
    (isolated_cache / "datasets" / "wordsim353" / "wordsim353.tsv").unlink()  # fetched, then lost
    result = cli_run("data", "verify", "wordsim353")
    result.assert_user_error(r"failed verification; run `dlcourse data fetch wordsim353` to "
                             r"replace the damaged or missing files", report=True)
    assert "wordsim353: BAD wordsim353.tsv (missing)" in result.out
    assert "verify" in cli_run("data", "--help").out.split("Commands:")[0]  # the group's line


def test_missing_archive_hint_names_the_archive(isolated_cache, cli_run, register, tmp_path,
                                                monkeypatch):
    """A set unpacked from an archive needs all of it: the offline hint names the archive and
    where to put it, and following the hint works."""
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    for name, archive, marker in (("cifar-10", "cifar-10-python.tar.gz", "batches.meta"),
                                  ("imdb", "aclImdb_v1.tar.gz", "README")):
        result = cli_run("data", "fetch", name)
        result.assert_user_error(f"copy the whole archive {archive} .* into "
                                 f"{isolated_cache / 'downloads'} and run the same command again")
        assert marker not in result.err
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member, data in (("pkg/README", b"read me\n"), ("pkg/train/0.txt", b"a review\n")):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    name = register(Dataset("t-archive", "test", {"pkg/README": None},
                            (UrlSource("http://127.0.0.1:9/pkg.tar.gz", None, extract_all=True),)))
    cli_run("data", "fetch", name).assert_user_error(r"copy the whole archive pkg.tar.gz")
    (isolated_cache / "downloads").mkdir(parents=True)
    (isolated_cache / "downloads" / "pkg.tar.gz").write_bytes(buffer.getvalue())
    assert cli_run("data", "fetch", name).code == 0
    assert (isolated_cache / "datasets" / name / "pkg" / "train" / "0.txt").read_bytes() == \
        b"a review\n"


def test_an_unusable_dlcourse_home_is_named(isolated_cache, monkeypatch, cli_run):
    """A DLCOURSE_HOME that is a file, or that cannot be made: one line naming it, exit 2,
    and a set an installed package holds is still served from there."""
    isolated_cache.parent.joinpath("notes.txt").write_text("x")
    monkeypatch.setenv("DLCOURSE_HOME", str(isolated_cache.parent / "notes.txt"))
    for args in (("data", "list"), ("data", "fetch", "lee")):
        cli_run(*args).assert_user_error(r"DLCOURSE_HOME=\S*notes.txt is a file, not a folder")
    monkeypatch.setenv("DLCOURSE_HOME", "/proc/dlcourse-cache")  # no folder can be made there
    cli_run("data", "fetch", "cifar-10", "--no-download").assert_user_error(
        r"(cannot be made|is not writable).*set DLCOURSE_HOME to a writable folder")
    result = cli_run("data", "fetch", "lee")
    assert result.code == 0 and "site-packages" in result.out
    # every name is checked before the first is fetched
    monkeypatch.setenv("DLCOURSE_HOME", str(isolated_cache))
    cli_run("data", "fetch", "wordsim353", "nosuch").assert_user_error("unknown data set 'nosuch'")
    assert not isolated_cache.exists()


def test_disk_usage_counts_files_under_a_path_given_as_text(tmp_path):
    from dlcourse.data import disk_usage

    (tmp_path / "sub").mkdir()
    (tmp_path / "a.bin").write_bytes(b"x" * 1000)
    (tmp_path / "sub" / "b.bin").write_bytes(b"y" * 24)
    assert disk_usage(str(tmp_path)) == disk_usage(tmp_path) == 1024  # a str was refused
    assert disk_usage(str(tmp_path / "a.bin")) == 1000
    assert disk_usage(tmp_path / "missing") == 0
