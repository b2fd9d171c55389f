"""How Pagefind's process is run: its exit code, output and memory come back, a run past its time is stopped, and the
wait for it ends when it exits (a pidfd), not at the next sample."""

from __future__ import annotations

import os
import sys

import pytest

from generator import pagefind

PRINT_AND_FAIL = [sys.executable, "-c", "import sys; print('indexed 3 pages'); sys.exit(3)"]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_the_exit_code_output_and_peak_memory_come_back(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(pagefind.time, "sleep", slept.append)
    before = open_fds()
    code, output, peak = pagefind._run(PRINT_AND_FAIL, timeout=30)
    assert (code, output.strip()) == (3, "indexed 3 pages")
    assert peak >= 0
    assert slept == [], "with a pidfd the wait between samples ends when the process exits, never by sleeping"
    assert open_fds() == before, "the pidfd is closed"


def test_without_a_pidfd_the_samples_are_taken_between_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagefind, "_exit_fd", lambda pid: None)
    code, output, _ = pagefind._run(PRINT_AND_FAIL, timeout=30)
    assert (code, output.strip()) == (3, "indexed 3 pages")


def test_a_run_past_its_time_is_stopped() -> None:
    before = open_fds()
    code, _, _ = pagefind._run([sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.2)
    assert code == -9
    assert open_fds() == before
