"""Parsed copies of files in the user's cache, keyed by the file's identity, so that a start reads less.

`stat_key` names one version of a file (real path, size, mtime, ctime, inode, device); the registry's
validated index (`knowngood/cache.py`) and `load_json` below are keyed by it. `load_json` keeps a marshal
copy of a JSON file kgc-launch ships (vLLM's option vocabulary is 0.6 MB: marshal reads it in about half
the time json does, and cannot run code when read back). A copy that cannot be read or written is not an
error: the file is then parsed, as it would be without a cache. A file changed within the last two seconds
is never cached (its size and mtime could change again unseen: git's "racily clean" problem).
"""

from __future__ import annotations

import json
import marshal
import os
import sys
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kgc_launch import __version__

RACY_WINDOW_NS = 2_000_000_000  # coarser than any common filesystem's mtime granularity (FAT: 2 s)
_STAMP = f"kgc-launch {__version__} json-copy 1 marshal {marshal.version} py {sys.version_info[:2]}"

StatKey = tuple[str, int, int, int, int, int]


def default_cache_dir(environ: Mapping[str, str]) -> Path | None:
    """`$XDG_CACHE_HOME/kgc-launch`, else `~/.cache/kgc-launch`; None when neither can be named."""
    base = environ.get("XDG_CACHE_HOME") or ""
    if not base:
        home = environ.get("HOME") or ""
        if not home:
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "kgc-launch"


def stat_key(path: str | os.PathLike[str]) -> StatKey | None:
    """What identifies this version of the file, or None when it cannot be stat'ed."""
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    return (real, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def is_racy(key: StatKey) -> bool:
    """Changed so recently that the same size and mtime could hide another change."""
    return time.time_ns() - max(key[2], key[3]) < RACY_WINDOW_NS


def load_json(path: Path, environ: Mapping[str, str] = os.environ) -> Any:
    """The parsed JSON of `path`, from the cached copy when the file is unchanged; raises OSError/ValueError
    as `json.loads` of the file would."""
    key = stat_key(path)
    cache_dir = default_cache_dir(environ)
    copy = None if key is None or cache_dir is None or is_racy(key) else _copy_file(cache_dir, key)
    if copy is not None:
        try:
            stamp, cached_key, data = marshal.loads(copy.read_bytes())
            if stamp == _STAMP and tuple(cached_key) == key:
                return data
        except (OSError, ValueError, EOFError, TypeError):
            pass
    data = json.loads(path.read_text(encoding="utf-8"))
    if copy is not None:
        _write_copy(copy, marshal.dumps((_STAMP, key, data)))
    return data


def _copy_file(cache_dir: Path, key: StatKey) -> Path:
    return cache_dir / f"json-{zlib.crc32(key[0].encode('utf-8', 'surrogatepass')):08x}-{Path(key[0]).stem}.marshal"


def _write_copy(copy: Path, payload: bytes) -> None:
    from kgc_launch.atomic import write_atomic

    try:
        copy.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(copy, payload)
    except (OSError, ValueError):
        pass  # no cache: the next start parses the file again
