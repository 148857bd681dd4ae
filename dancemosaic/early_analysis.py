"""The command line's song analysis, started before torch is imported, so the two overlap.

The analysis (librosa, its numba kernels, the features: about 2 s for a 60 s song) and importing
torch with the engine (about 2 s) are each most of a command-line dance's start-up. On a second
thread they contend for the GIL; in a forked child process they run side by side. Measured with
``benchmarks/cli_speed.py`` on a 60 s song (REPORT.md):

- idle 2-core machine: the child took the CLI from 7.7-8.2 s to 5.5-6.4 s (1.8x the warm engine);
- 2-core machine with both cores already busy (load 3-4.5): the child was 0.6-1.3 s *slower*
  than the thread (a second process gains nothing there and adds its own costs).

So the child is used when a core is to spare (and the platform forks cleanly), else the thread.
Either way the result lands in ``music``'s cache, where ``engine.generate`` finds it. A song that
cannot be analysed fails there quietly and again, with its message, in generate.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

SPARE_LOAD = 0.5  # a core is to spare when the load average is at most cores - 1 + this


def start(song: str) -> Callable[[], None]:
    """Start analysing ``song``; the returned function waits until its analysis is in the cache."""
    return _in_child(song) if core_to_spare() and sys.platform == "linux" else _in_thread(song)


def core_to_spare() -> bool:
    """Whether this process may use a second core now: two or more, and the last minute's load
    leaves one free."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores >= 2 and os.getloadavg()[0] <= cores - 1 + SPARE_LOAD


def _in_thread(song: str) -> Callable[[], None]:
    thread = threading.Thread(target=_analyse_quietly, args=(song,), daemon=True)
    thread.start()
    return thread.join


def _in_child(song: str) -> Callable[[], None]:
    context = multiprocessing.get_context("fork")  # before torch: nothing to copy but numpy
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_analyse_and_send, args=(song, sender), daemon=True)
    child.start()
    sender.close()

    def wait() -> None:
        from dancemosaic import music

        with contextlib.suppress(EOFError, OSError):  # a child that died sends nothing
            features = receiver.recv()
            if features is not None:
                music.remember(song, features)
        child.join()

    return wait


def _analyse_quietly(song: str) -> object:
    from dancemosaic import music

    with contextlib.suppress(Exception):  # generate analyses it again and says what is wrong
        return music.analyse_file(song)
    return None


def _analyse_and_send(song: str, sender: Connection) -> None:
    sender.send(_analyse_quietly(song))
    sender.close()
