"""Processes, read from /proc: what a test started, and what it left behind."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name: [state, ppid, pgrp, session, ...]."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def descendants(root: int) -> dict[int, str]:
    """Every live descendant of `root`: pid -> start time (to tell a reused pid apart)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is None or fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        starts[int(entry.name)] = fields[19]
    found: dict[int, str] = {}
    queue = [root]
    while queue:
        for child in children.get(queue.pop(), []):
            if child not in found:
                found[child] = starts[child]
                queue.append(child)
    return found


def still_alive(processes: Mapping[int, str]) -> list[int]:
    """Those of `processes` (pid -> start time, from `descendants`) still running."""
    alive = []
    for pid, start in processes.items():
        fields = _stat(pid)
        if fields is not None and fields[0] != "Z" and fields[19] == start:
            alive.append(pid)
    return alive


def describe(pids: list[int]) -> str:
    """`pid: command line`, one a line, for an assertion's message."""
    lines = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            command = "?"
        lines.append(f"{pid}: {command.strip()}")
    return "\n".join(lines)
