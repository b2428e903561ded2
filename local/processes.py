"""Ports and processes of the local stack: a free port to start a child on, whether a given
port can be bound, and the processes of a session (read from /proc) to signal or wait for."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(host: str, port: int) -> bool:
    """Whether `host:port` can be bound now."""
    with contextlib.suppress(OSError), socket.create_server((host, port)):
        return True
    return False


def signal_group(pgid: int, sig: int) -> None:
    """Send `sig` to a process group, if it is still there and ours to signal."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def session_members(session: int) -> list[int]:
    """Live processes of a session (a child started with `start_new_session` leads its own)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which may itself hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session and fields[0] != "Z":
            members.append(int(entry.name))
    return members
