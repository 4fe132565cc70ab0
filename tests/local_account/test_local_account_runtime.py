"""The in-process Lambda runtime's clocks: a function that sleeps (backing off, polling IAM's credential
report) moves the virtual clock instead of waiting, and its run-time budget counts the sleep."""

from __future__ import annotations

import threading
import time

from local_account.runtime import _virtual_waits


def test_a_sleep_in_the_function_moves_the_clock_instead_of_waiting() -> None:
    moved: list[float] = []
    started_wall, started_monotonic = time.perf_counter(), time.monotonic()
    with _virtual_waits(moved.append) as waits:
        # When the function sleeps 30 seconds
        time.sleep(30)
        # Then no real time passed, the virtual clock moved 30 s, and its monotonic clock with it
        assert time.perf_counter() - started_wall < 5
        assert moved == [30.0] and waits.slept == 30.0
        assert time.monotonic() - started_monotonic >= 30
    # And outside the call, sleep and monotonic are the real ones again
    assert time.monotonic() - started_monotonic < 5
    assert time.sleep.__name__ == "sleep" and not moved[1:]


def test_other_threads_keep_real_time_during_a_call() -> None:
    moved: list[float] = []
    observed: list[float] = []

    def other_thread() -> None:
        before = time.perf_counter()
        time.sleep(0.05)
        observed.append(time.perf_counter() - before)

    with _virtual_waits(moved.append):
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    # The server thread (or any other) really sleeps and never moves the function's clock
    assert observed[0] >= 0.05
    assert moved == []
