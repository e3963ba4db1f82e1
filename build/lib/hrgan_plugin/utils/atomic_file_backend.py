"""A local file backend whose writes are atomic (write, fsync, rename)."""
from __future__ import annotations

import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import register_backend
from mmengine.fileio.backends import LocalBackend


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """:class:`~mmengine.fileio.LocalBackend` that writes each file under a
    temporary name in the same folder and renames it into place, so a process
    killed at any moment leaves the previous file or the new one, never a
    truncated one. Select it with ``backend_args=dict(backend='atomic_local')``
    (:class:`~hrgan_plugin.engine.hooks.SafeCheckpointHook` does)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        filepath = str(filepath)
        folder = osp.dirname(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(filepath)}.',
                                   suffix='.tmp')
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except BaseException:
            if osp.exists(tmp):
                os.unlink(tmp)
            raise

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)
