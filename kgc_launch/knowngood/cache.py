"""A validated copy of a registry, so that a launch does not parse YAML when the file has not changed.

Keyed by the registry's real path, size, mtime_ns, ctime_ns, inode and device. Two files per registry:
- `<name>.data`: a random token, then every entry as plain data (marshal: fast, and unable to run code
  when read back), one after another;
- `<name>.index`: the key, the token, where each entry lies in the data file, and a table of every model
  id and alias (a 64-bit hash of it, sorted) to entry numbers.
A warm load reads the small index, checks the token at the head of the data file, and later reads the one
entry a lookup finds: its cost hardly grows with the registry (10,000 entries: ~0.4 MB of index).
The data file is written first and the index second, both atomically; a reader that meets an index and a
data file from different writes sees the tokens differ and treats the cache as absent.

A file modified within the filesystem's timestamp granularity could change again with the same size and
mtime (git's "racily clean" problem); for such a file the index also keeps a digest of its bytes, checked
on every read until the file is old enough to trust its metadata. A cache that cannot be read or written
is not an error: the registry is then parsed, as it would be without a cache. The cache holds the
registry's contents, so it is written readable by its owner only.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import struct
import sys
import weakref
from pathlib import Path

from kgc_launch import __version__
from kgc_launch.filecache import StatKey, is_racy

CACHE_FORMAT = 3
_STAMP = f"kgc-launch {__version__} cache {CACHE_FORMAT} marshal {marshal.version} py {sys.version_info[:2]}"


def cache_files_for(key: StatKey, cache_dir: Path) -> tuple[Path, Path]:
    """(index, data) cache files of the registry at this real path."""
    stem = f"registry-{hashlib.sha256(key[0].encode()).hexdigest()[:32]}"
    return cache_dir / f"{stem}.index", cache_dir / f"{stem}.data"


def id_hash(model_key: str) -> int:
    """A stable 64-bit hash of a (case-folded) model id; Python's own hash() changes between processes."""
    digest = hashlib.blake2b(model_key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def digest_of(path: str) -> bytes | None:
    """blake2b of the file's bytes, or None when it cannot be read."""
    digest = hashlib.blake2b()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.digest()


class CachedEntries:
    """The entries of a cached registry: found by id through the hash table, read one at a time."""

    def __init__(self, data_fd: int, table: bytes, spans: bytes) -> None:
        # The data file stays open: a later rewrite of the cache (a new file) cannot change what this reads.
        self._fd = data_fd
        weakref.finalize(self, os.close, data_fd)
        self._table = table
        self._spans = spans

    def __len__(self) -> int:
        return len(self._spans) // _SPAN.size

    def blob(self, number: int) -> bytes:
        offset, length = _SPAN.unpack_from(self._spans, number * _SPAN.size)
        return os.pread(self._fd, length, offset)

    def numbers_for(self, model_key: str) -> list[int]:
        """Entry numbers whose id or alias may be `model_key` (a hash match: the caller checks the entry)."""
        wanted = id_hash(model_key)
        low, high = 0, len(self._table) // _ROW.size
        while low < high:
            middle = (low + high) // 2
            if _ROW.unpack_from(self._table, middle * _ROW.size)[0] < wanted:
                low = middle + 1
            else:
                high = middle
        numbers = []
        while low * _ROW.size < len(self._table):
            found, number = _ROW.unpack_from(self._table, low * _ROW.size)
            if found != wanted:
                break
            numbers.append(number)
            low += 1
        return numbers


_ROW = struct.Struct("<QI")  # id hash, entry number: sorted by hash, then number
_SPAN = struct.Struct("<QI")  # offset, length of an entry in the data file
_TOKEN_BYTES = 16


def read_cache(key: StatKey, cache_dir: Path | None) -> CachedEntries | None:
    """The entries cached for exactly this version of the file, or None."""
    if cache_dir is None:
        return None
    index_file, data_file = cache_files_for(key, cache_dir)
    try:
        record = marshal.loads(index_file.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(record, dict) or record.get("stamp") != _STAMP or record.get("key") != key:
        return None
    digest = record.get("digest")
    if digest is not None:
        if digest_of(key[0]) != digest:
            return None
        if not is_racy(key):
            # The file is now old enough for its metadata to be trusted: stop hashing it on every read.
            _write(index_file, marshal.dumps({**record, "digest": None}))
    try:
        fd = os.open(data_file, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        token = os.pread(fd, _TOKEN_BYTES, 0)
    except OSError:
        token = b""
    if token != record.get("token"):
        os.close(fd)
        return None
    return CachedEntries(fd, record["table"], record["spans"])


def write_cache(
    key: StatKey, blobs: list[bytes], ids: list[list[str]], cache_dir: Path | None, *, content: bytes
) -> None:
    """Store the entries (marshalled plain data) and their ids (case-folded) for this version of the file.
    `content` is the bytes they were parsed from. Silently does nothing when it cannot."""
    if cache_dir is None:
        return
    token = os.urandom(_TOKEN_BYTES)
    spans, offset = bytearray(), _TOKEN_BYTES
    for blob in blobs:
        spans += _SPAN.pack(offset, len(blob))
        offset += len(blob)
    rows = sorted({(id_hash(model_key), number) for number, keys in enumerate(ids) for model_key in keys})
    record = {
        "stamp": _STAMP,
        "key": key,
        "digest": hashlib.blake2b(content).digest() if is_racy(key) else None,
        "token": token,
        "table": b"".join(_ROW.pack(*row) for row in rows),
        "spans": bytes(spans),
    }
    index_file, data_file = cache_files_for(key, cache_dir)
    if _write(data_file, token + b"".join(blobs)):
        _write(index_file, marshal.dumps(record))


def _write(cache_file: Path, data: bytes) -> bool:
    from kgc_launch.atomic import write_atomic

    try:
        cache_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(cache_file, data, mode=0o600)
    except (OSError, ValueError):
        return False
    return True
