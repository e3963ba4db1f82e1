"""One training program per experiment folder.

Two ``tools/experiment.py`` programs training into one ``--out`` would each
plan the same unfinished runs and train them side by side in the same run
folders, each overwriting the other's checkpoints. :func:`out_lock` holds an
exclusive ``flock`` on ``OUT/.runner.lock`` while a program trains; the
kernel drops it when the program ends, however it ends, so a lock file left
by a killed program never blocks the next one.
"""
from __future__ import annotations

import fcntl
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator

LOCK_NAME = '.runner.lock'


class OutFolderBusy(RuntimeError):
    """Another program is training into the same experiment folder."""


@contextmanager
def out_lock(out: str) -> Iterator[str]:
    """Hold the training lock of experiment folder ``out`` for the ``with``
    block; yields the lock file's path.

    Raises:
        OutFolderBusy: another program holds it; the message names the
            folder and that program's process id.
    """
    path = osp.join(out, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors='replace').strip() or 'unknown'
            raise OutFolderBusy(
                f'{out} is being trained by another tools/experiment.py (pid {holder}, lock '
                f'{path}); wait for it to end, or give this one another --out') from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the only descriptor releases the flock
