"""Progress on a terminal is a redrawn bar; on a pipe or in a log file, plain lines."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time

progress_module = importlib.import_module("dlcourse.engine.progress")


def test_a_pipe_gets_a_plain_line_now_and_then_not_carriage_returns(monkeypatch, capsys):
    monkeypatch.delenv("DLCOURSE_PROGRESS", raising=False)
    monkeypatch.setattr(progress_module, "LINE_INTERVAL", 0.2)
    bar = progress_module.progress(range(10), total=10, desc="som", unit="epoch")
    for _ in bar:
        time.sleep(0.05)
        bar.set_postfix(qe="1.5")
    bar.close()
    err = capsys.readouterr().err  # captured: not a terminal
    lines = err.splitlines()
    assert "\r" not in err and 1 <= len(lines) <= 3, err  # 0.5 s of work, a line per 0.2 s
    assert all(line.startswith("som:") and "qe=1.5" in line for line in lines)


def test_a_short_job_on_a_pipe_prints_no_progress(monkeypatch, capsys):
    monkeypatch.delenv("DLCOURSE_PROGRESS", raising=False)
    for _ in progress_module.progress(range(1000), total=1000, desc="fast"):
        pass
    assert capsys.readouterr().err == ""


def test_the_command_line_on_a_pipe(workdir):
    """`embed train` piped to a file: its epoch lines and results, no bar clutter."""
    with open("small.txt", "w") as f:
        f.write("the cat sat on the mat\nthe dog sat on the log\n" * 300)
    env_code = ("import os, sys; os.environ.pop('DLCOURSE_PROGRESS', None); "
                "from dlcourse.cli.main import main; main(sys.argv[1:])")
    done = subprocess.run([sys.executable, "-c", env_code, "embed", "train", "small.txt",
                           "--out", "a", "--epochs", "2", "--min-count", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "skipgram:" not in done.stderr, done.stderr
    assert "epoch 1: loss" in done.stderr and "epoch 2: loss" in done.stderr


def test_a_training_epoch_on_a_pipe_shows_its_count(monkeypatch, capsys):
    # the loss/rate postfix redrew the bar with the count tqdm last drew: "0/376" halfway
    # through an epoch, every piped line of every torch trainer
    import re

    import torch
    from torch import nn

    from dlcourse.engine.loop import train_one_epoch

    monkeypatch.delenv("DLCOURSE_PROGRESS", raising=False)
    monkeypatch.setattr(progress_module, "LINE_INTERVAL", 0.2)
    model = nn.Linear(3, 1)
    batches = [(torch.randn(4, 3), torch.randn(4, 1)) for _ in range(12)]

    def step(net, batch):
        time.sleep(0.05)
        return nn.functional.mse_loss(net(batch[0]), batch[1])

    train_one_epoch(model, batches, step, torch.optim.SGD(model.parameters(), lr=0.1),
                    device=torch.device("cpu"))
    lines = capsys.readouterr().err.splitlines()
    counts = [int(m[1]) for line in lines if (m := re.search(r"(\d+)/12", line))]
    assert counts and min(counts) >= 2 and "loss=" in lines[-1], lines


def test_a_log_line_clears_the_bar_it_would_run_on_after():
    # on a terminal "17/78 [...]stopping after the current step" was one line: the log line
    # followed the bar's text
    import io
    import logging

    from tqdm import tqdm

    from dlcourse.cli.main import BarSafeHandler

    stream = io.StringIO()
    handler = BarSafeHandler(stream)
    log = logging.getLogger("dlcourse.test_bar")
    log.addHandler(handler)
    try:
        bar = tqdm(total=10, file=stream, mininterval=0)
        bar.update(3)
        log.warning("stopping after the current step")
        bar.close()
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    before = text[:text.index("stopping after")]
    assert before.endswith(("\r", "\n")), repr(text)  # the bar cleared: the line starts anew
    plain = io.StringIO()
    handler = BarSafeHandler(plain)
    handler.emit(logging.LogRecord("x", logging.INFO, "", 0, "no bar", None, None))
    assert plain.getvalue() == "no bar\n"


def test_a_terminal_of_unknown_size_still_gets_a_bar():
    """`script` and a bare pty report 0 x 0 columns and rows: tqdm then drew nothing, so a
    `som train` in such a terminal showed no progress until its table at the end."""
    import os
    import pty
    import sys

    code = ("import time\nfrom dlcourse.engine.progress import progress\n"
            "for _ in progress(range(3), total=3, desc='epochs', unit='epoch'):\n"
            "    time.sleep(0.6)\n")
    env = {k: v for k, v in os.environ.items() if k != "DLCOURSE_PROGRESS"}
    pid, fd = pty.fork()  # the child's terminal reports a size of 0 x 0
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-c", code], env)
    shown = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child ended
            break
        if not chunk:
            break
        shown += chunk
    os.waitpid(pid, 0)
    assert b"epochs:" in shown and b"3/3" in shown, shown
