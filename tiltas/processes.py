"""Processes of this host (Linux: read from /proc)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_PROC = Path("/proc")


def running(pid: int) -> bool:
    """Whether a process with this id runs on this host (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_members(process_group: int) -> list[int]:
    """Processes of a process group, zombies (waiting for their parent) left out."""
    members = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state, ppid, pgrp, ...
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == process_group:
            members.append(int(entry.name))
    return members


def listening_unix_sockets(pids: Iterable[int]) -> list[Path]:
    """Filesystem paths of the Unix sockets these processes listen on (abstract ones left out)."""
    inodes = set()
    for pid in pids:
        try:
            descriptors = list((_PROC / str(pid) / "fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(descriptor)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target.removeprefix("socket:[").removesuffix("]")))
    paths = set()
    # Num RefCount Protocol Flags Type St Inode Path; a listening socket's flags are 00010000.
    for line in (_PROC / "net" / "unix").read_text().splitlines()[1:]:
        fields = line.split(maxsplit=7)
        listening = len(fields) == 8 and fields[3] == "00010000"
        if listening and int(fields[6]) in inodes and fields[7].startswith("/"):
            paths.add(Path(fields[7]))
    return sorted(paths)
