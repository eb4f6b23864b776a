"""Files that survive a crash: the one way Hubao replaces a file or creates one that must stay.

A rename is atomic but not durable until the folder holding it is flushed too: after a power cut
the folder may still name the old file, or no file at all for a new one (ext4, XFS). So every
write here is: write a temporary sibling, fsync it, rename it over the target, fsync the folder.
Used by the chain's datadir lock, QBFT's sign log, keystores, evidence and the operators' files.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(folder: str | Path) -> None:
    """Make the folder's entries (a rename, a new file) durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, data: str | bytes, mode: int = 0o600, exclusive: bool = False) -> Path:
    """Replace `path` with `data` so that a crash at any moment leaves the old file or the new one.

    `exclusive`: refuse (FileExistsError) when `path` exists already, as a keystore never
    overwrites a key. The temporary name is per process, so two writers never share one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive and path.exists():
        raise FileExistsError(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path
