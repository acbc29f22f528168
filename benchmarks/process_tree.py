"""Run a command and measure its wall time and the peak memory of its whole process tree."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_bytes: int
    returncode: int
    # peak resident memory of the services the command used (e.g. an S3 server), sampled with it
    services_peak_bytes: int = 0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def tree_rss(root: int) -> int:
    """Resident memory of `root` and all its descendants, in bytes."""
    tree, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
        stack.extend(tree.get(pid, []))
    return total


def measure(
    command: list[str], env: dict[str, str] | None = None, services: tuple[int, ...] = ()
) -> Measured:
    """Run `command`; `services` are the root pids of processes outside its tree that it uses,
    whose memory is sampled alongside but reported apart."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    peak = services_peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, services_peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            if services:
                services_peak = max(services_peak, sum(tree_rss(pid) for pid in services))
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    returncode = process.wait()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return Measured(
        seconds=seconds, peak_bytes=peak, returncode=returncode, services_peak_bytes=services_peak
    )
