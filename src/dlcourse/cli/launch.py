"""The ``dlcourse`` program: the console script, ``python -m dlcourse`` and torchrun's
``-m dlcourse`` start here, with nothing imported yet but the standard library's basics."""

from __future__ import annotations

import os
import signal
import sys


def _stop_before_main(signum, frame) -> None:
    # nothing is read or written before main runs: end at once, as main ends a Ctrl-C
    os.write(2, b"error: interrupted\n")
    os._exit(130)


def entry() -> None:
    """Run :func:`dlcourse.cli.main.main`, then end the process at once with its status.

    A Ctrl-C while the command line's modules load (click, logging: 0.1-0.4 s) ends with
    main's one line instead of a traceback. Python's own teardown after the last line (modules,
    numba's and torch's exit hooks, gloo's threads) took 0.5 s of a 2 s ``som train`` or
    ``embed train`` and 2 s of ``lm train``, time the user waits for nothing, and a Ctrl-C in it
    reported a finished run as failed: every file is written and closed by then, so logging and
    the standard streams are flushed and the process ends through ``os._exit``. Under a tracer
    or profiler (coverage, cProfile) the usual exit runs, so that they can report; so does an
    unexpected exception, with its traceback.
    """
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _stop_before_main)
    from dlcourse.cli.main import main

    if signal.getsignal(signal.SIGINT) is _stop_before_main:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # main takes it from here
    from dlcourse.engine.interrupt import command_ends_process

    command_ends_process()  # a Ctrl-C after main's last line is ignored, not a traceback
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if sys.gettrace() is not None or sys.getprofile() is not None:
        sys.exit(code)
    if isinstance(code, str):  # sys.exit("message"): what Python itself would print
        print(code, file=sys.stderr)
        code = 1
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away; a stream already closed
            pass
    os._exit(code or 0)
