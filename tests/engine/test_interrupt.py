"""Ctrl-C before a trainer's guard: it waits for the import in progress, then stops."""

from __future__ import annotations

import signal
import sys
import time

import pytest

from dlcourse.engine.interrupt import sigint_after_imports

MODULE = """
import os, signal, time
os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of this module's import
for _ in range(50):
    time.sleep(0.002)
DONE = True
"""


@pytest.fixture(autouse=True)
def python_default_handler():
    """Python's own Ctrl-C handler, as in a terminal: a process started in the background by a
    shell (`cmd &`, CI runners) inherits SIGINT ignored, and then the CLI leaves it so."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_an_import_is_delivered_after_it(tmp_path, monkeypatch):
    (tmp_path / "dlcourse_slow_module.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "dlcourse_slow_module", raising=False)
    reached = []
    with pytest.raises(KeyboardInterrupt), sigint_after_imports():
        import dlcourse_slow_module  # noqa: F401
        reached.append("after the import")
        time.sleep(5)  # the Ctrl-C comes back here, well before the end
    assert reached == ["after the import"]
    assert sys.modules["dlcourse_slow_module"].DONE  # the module was imported whole
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_while_numba_compiles_is_delivered_after_it():
    """A KeyboardInterrupt raised in numba's compiler or in llvmlite's callbacks crashed, hung
    or was swallowed (GloVe's first kernels compile while it counts); code under a numba or
    llvmlite folder is let finish first, like an import."""
    import os

    compiler = compile("import signal, time\nsignal.raise_signal(signal.SIGINT)\n"
                       "for _ in range(50):\n    time.sleep(0.002)\ndone.append(True)\n",
                       os.path.join(os.sep, "site-packages", "numba", "core", "compiler.py"),
                       "exec")
    done, reached = [], []
    with pytest.raises(KeyboardInterrupt), sigint_after_imports():
        exec(compiler, {"done": done})
        reached.append("after the compilation")
        time.sleep(5)
    assert done == [True] and reached == ["after the compilation"]


def test_an_ignored_ctrl_c_stays_ignored():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with sigint_after_imports():
        signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_outside_an_import_ctrl_c_stops_at_once():
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt), sigint_after_imports():
        signal.raise_signal(signal.SIGINT)
        time.sleep(5)
    assert time.perf_counter() - start < 1


def test_a_ctrl_c_after_the_last_safe_point_is_reported(caplog):
    """The guard's first Ctrl-C waits for the trainer's next check; when none comes (training
    had finished), the user is told that the run completes rather than left guessing."""
    from dlcourse.engine.interrupt import StopGuard

    with caplog.at_level("WARNING", logger="dlcourse"), StopGuard() as guard:
        signal.raise_signal(signal.SIGINT)
        assert guard.should_stop()
    assert "stopping after the current step" in caplog.text
    assert "Ctrl-C came after the last safe point: training had finished" in caplog.text
    caplog.clear()
    with pytest.raises(RuntimeError), StopGuard():  # a run that ends in an error: not this
        signal.raise_signal(signal.SIGINT)
        raise RuntimeError("stopped")
    assert "after the last safe point" not in caplog.text


def test_a_second_ctrl_c_as_a_stopped_program_ends_is_ignored(tmp_path):
    # after "error: interrupted ...; checkpoint saved", a second Ctrl-C landing in the last
    # milliseconds printed a KeyboardInterrupt traceback and ended the process by the signal
    import os
    import subprocess

    script = (
        "import os, signal, sys\n"
        "from dlcourse.engine.interrupt import command_ends_process\n"
        "command_ends_process()  # what the dlcourse program does before main\n"
        "from dlcourse.cli.main import main\n"
        "try:\n"
        "    main(['--threads', '1', 'som', 'train', 'sklearn:iris', '--grid', '3x3',\n"
        "          '--algorithm', 'online', '--epochs', '3', '--out', sys.argv[1]])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, after main's last line\n"
        "print('ended', code)\n")
    env = {**os.environ, "DLCOURSE_INTERRUPT_AFTER": "2"}  # the first: a stop after step 2
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "run")],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout.split() == ["ended", "130"], result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: interrupted")
    assert (tmp_path / "run" / "last.safetensors").is_file()


def test_sigterm_is_a_stop_request_inside_a_guard_and_restored_after():
    # SIGTERM (a scheduler's or `timeout`'s stop) killed a run at once: the work since its
    # last checkpoint was lost, and one landing in a checkpoint write left a temp file
    import os

    from dlcourse.engine.interrupt import StopGuard

    before = signal.getsignal(signal.SIGTERM)
    with StopGuard() as guard:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(100):  # the handler runs at the next bytecode boundary
            if guard.should_stop():
                break
            time.sleep(0.01)
        assert guard.should_stop()
        guard.stopped()
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_the_parent_ignores_stays_ignored_inside_a_guard():
    # a run started under nohup or as a script's `cmd &` inherits SIGINT ignored; the guard
    # took it over, so a Ctrl-C meant for the shell stopped the run
    from dlcourse.engine.interrupt import StopGuard

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with StopGuard() as guard:
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.raise_signal(signal.SIGINT)
        assert not guard.should_stop()
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN  # still a stop request
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_ctrl_c_while_joining_the_process_group_ends_the_process_at_once():
    """torchrun's join waits in C for every process, where Python's handler never runs: a
    Ctrl-C there was seen only when torchrun killed the process 30 s later."""
    import subprocess

    from dlcourse.engine.interrupt import sigint_ends_at_once

    code = ("import os, signal, time\n"
            "from dlcourse.engine.interrupt import sigint_ends_at_once\n"
            "with sigint_ends_at_once():\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "    time.sleep(5)\n"
            "print('survived')\n")
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == -signal.SIGINT and "survived" not in done.stdout
    assert time.monotonic() - began < 4.5  # not after the sleep
    before = signal.getsignal(signal.SIGINT)
    with sigint_ends_at_once():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is before
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with sigint_ends_at_once():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # nohup's stays
    finally:
        signal.signal(signal.SIGINT, before)


def test_one_stop_sent_twice_at_once_is_one_request_and_a_later_one_stops_at_once():
    # `timeout -s INT 3 dlcourse ... train` signals the command and then its process group:
    # the two signals, microseconds apart, read as "Ctrl-C twice" and 2 runs in 6 saved nothing
    import os

    from dlcourse.engine.interrupt import SAME_STOP_S, StopGuard

    with StopGuard() as guard:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10):  # the handlers run at the next bytecode boundaries
            time.sleep(0.001)
        assert guard.should_stop()
        time.sleep(SAME_STOP_S + 0.05)
        with pytest.raises(KeyboardInterrupt):  # a person's second Ctrl-C: out now
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(100):
                time.sleep(0.01)
