"""`record`: append a NEW model entry to a registry, keeping every byte already there.

This is the only code that writes registry YAML. It never re-serialises the file: the new entry is
rendered on its own and inserted as text (at the end when `models:` is the last top-level key, else right
after the last entry), so the banner, every comment and all per-entry prose survive byte for byte. The
result is then parsed in full and must equal the old registry plus the new entry, or nothing is written.

Concurrency and crashes: the whole read-modify-write holds an exclusive lock on `<registry>.lock`, so
concurrent `record`s all land, one after another; the file is replaced atomically (`write_atomic`), so a
crash leaves the old file or the new one, never a mix.
"""

from __future__ import annotations

import errno
import hashlib
import io
import marshal
import os
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kgc_launch import filecache
from kgc_launch.atomic import write_atomic
from kgc_launch.errors import InputError, UsageError
from kgc_launch.knowngood import cache
from kgc_launch.knowngood.load import REGISTRY_MAX_BYTES, load_text, prime_cache
from kgc_launch.knowngood.registry import Registry, id_key
from kgc_launch.knowngood.schema import SCHEMA_ID, ModelEntry, RequiredFlag, entry_to_plain
from kgc_launch.knowngood.validate import validated_document
from kgc_launch.records import from_plain
from kgc_launch.yamlio import read_text_limited

PIPE_FIELDS = ("flag", "match", "severity", "why", "affected", "evidence")
NEW_FILE_HEADER = f"""\
# ==========================================================================================================
# !!!  PRIVATE  !!!  KNOWN-GOOD SERVING CONFIGS: the REQUIRED flags each model needs, and WHY  !!!  PRIVATE  !!!
# ==========================================================================================================
# Never post an entry of this file publicly. Add models with `kgc-launch record`; edit existing entries by
# hand, then run `kgc-launch registry validate`. Format: `kgc-launch schema`.
# ==========================================================================================================
schema: {SCHEMA_ID}
models:
"""
_ENTRY_KEYS = ("model", "slug", "arch", "hardware", "engine", "aliases", "required_flags", "champion")
_ENTRY_TAIL_KEYS = ("fallback", "grind_frontier", "notes")
_FLAG_KEYS = ("flag", "env", "match", "severity", "why", "affected", "evidence", "equivalents", "applies_when")


@dataclass(frozen=True)
class RecordResult:
    path: Path
    entry: ModelEntry
    created: bool
    """The registry file did not exist and was created."""


def required_flag_from_pipe(text: str) -> dict[str, Any]:
    """`flag|match|severity|why|affected|evidence` (trailing fields optional, empty = default; `\\|` is a
    literal pipe) -> the fields of a required flag."""
    fields, current, index = [], "", 0
    while index < len(text):
        if text.startswith("\\|", index):
            current += "|"
            index += 2
        elif text[index] == "|":
            fields.append(current)
            current, index = "", index + 1
        else:
            current += text[index]
            index += 1
    fields.append(current)
    if len(fields) > len(PIPE_FIELDS):
        raise UsageError(
            f"--required-flag {text!r} has {len(fields)} fields, at most {len(PIPE_FIELDS)}: " + "|".join(PIPE_FIELDS),
            hint="write a literal pipe as \\|, or use --required-flag-json",
        )
    return {name: value.strip() for name, value in zip(PIPE_FIELDS, fields, strict=False) if value.strip()}


def record_entry(path: Path, entry: ModelEntry, *, cache_dir: Path | None = None) -> RecordResult:
    """Append `entry` (already validated) to the registry at `path`, creating the file if needed."""
    # A symlinked registry is edited where it lives (replacing the link would fork the shared file).
    path = Path(os.path.realpath(path))
    if path.is_symlink():  # realpath stops at a loop, which exists() calls missing: it is not to be replaced
        raise InputError(f"cannot read the registry: {os.strerror(errno.ELOOP)}", path=path)
    with _locked(path):
        created = not path.exists()
        old_text = (
            NEW_FILE_HEADER if created else read_text_limited(path, max_bytes=REGISTRY_MAX_BYTES, what="registry")
        )
        old = _current_registry(path, old_text, created, cache_dir)
        _refuse_known_ids(old, entry, path)
        new_text = insert_entry(old_text, render_entry(entry, indent=sequence_indent(old_text)), path=path)
        document = validated_document(path, new_text)
        new_plain = [entry_to_plain(model) for model in document.models]
        _verify(old, entry, new_plain, path)
        content = new_text.encode("utf-8")
        mode = 0o644 if created else path.stat().st_mode & 0o777
        write_atomic(path, content, mode=mode)
        ids = [[id_key(model_id) for model_id in model.ids()] for model in document.models]
        prime_cache(path, [marshal.dumps(plain) for plain in new_plain], ids, content, cache_dir=cache_dir)
    return RecordResult(path, entry, created)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    if not path.parent.is_dir():
        raise InputError("the registry's folder does not exist", path=path.parent)
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise InputError(f"cannot create the lock file: {error.strerror or error}", path=lock_path) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _current_registry(path: Path, text: str, created: bool, cache_dir: Path | None) -> Registry:
    if created:
        return Registry.from_entries(path, [])
    key = filecache.stat_key(path)
    if cache_dir is None:
        cache_dir = filecache.default_cache_dir(os.environ)
    cached = cache.read_cache(key, cache_dir) if key is not None else None
    # Use the cached entries only if they were read from exactly the bytes about to be extended.
    if cached is not None and cache.digest_of(str(path)) == hashlib.blake2b(text.encode("utf-8")).digest():
        return Registry.from_cache(path, cached)
    return load_text(path, text)


def _refuse_known_ids(registry: Registry, entry: ModelEntry, path: Path) -> None:
    for model_id in entry.ids():
        found = registry.find([model_id], entry.engine)
        if found is not None:
            how = "an alias of " if found.by_alias else ""
            raise UsageError(
                f"{model_id!r} is already registered for {entry.engine} in {path} (as {how}{found.entry.model!r})",
                hint="record only appends new models: edit that entry by hand (keep its prose), then run "
                "'kgc-launch registry validate'",
            )


def _verify(old: Registry, entry: ModelEntry, new_models: list[dict[str, Any]], path: Path) -> None:
    expected = [old.plain(number) for number in range(len(old))] + [entry_to_plain(entry)]
    if new_models != expected:
        raise InputError(
            "record could not append the entry without changing what the file means; nothing was written",
            path=path,
            hint="add the entry by hand (the layout of `models:` here is unusual), then run "
            "'kgc-launch registry validate'",
        )


def entry_data(entry: ModelEntry) -> dict[str, Any]:
    """The entry as it is written: keys in the registry's usual order, unset optional fields left out."""
    plain = entry_to_plain(entry)
    data: dict[str, Any] = {}
    for key in _ENTRY_KEYS + _ENTRY_TAIL_KEYS:
        value = plain[key]
        if key == "required_flags":
            value = [_flag_data(flag) for flag in value]
        elif key == "champion" and value is not None:
            value = {k: v for k, v in value.items() if v is not None} or None
        if value is not None and value != []:
            data[key] = value
    return data


def _flag_data(flag: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in _FLAG_KEYS:
        value = flag[key]
        if key == "applies_when" and value is not None:
            value = {k: v for k, v in value.items() if v is not None}
        if key == "severity" or (value is not None and value != []):
            data[key] = value
    return data


def render_entry(entry: ModelEntry, *, indent: int) -> str:
    """The entry as YAML lines for a block sequence item at column `indent` (`- model: ...`)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold a long `why` across lines
    stream = io.StringIO()
    yaml.dump(_quote_unusual(entry_data(entry)), stream)
    lines = stream.getvalue().splitlines()
    rendered = [" " * indent + "- " + lines[0]]
    rendered += [(" " * (indent + 2) + line) if line else "" for line in lines[1:]]
    return "\n".join(rendered) + "\n"


def _quote_unusual(value: Any) -> Any:
    """Strings holding control or unusual space characters (NEL, LS, BOM, ...) are written double-quoted,
    where YAML escapes them; plain or single-quoted, a reader may take them for line breaks or drop them."""
    if isinstance(value, dict):
        return {key: _quote_unusual(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_quote_unusual(item) for item in value]
    if isinstance(value, str) and any(char != " " and unicodedata.category(char)[0] in "CZ" for char in value):
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString

        return DoubleQuotedScalarString(value)
    return value


_MODELS_KEY = re.compile(r"""^(?:models|"models"|'models')[ \t]*:(?P<rest>.*)$""")
_TOP_KEY = re.compile(r"""^(?:"[^"]*"|'[^']*'|[^\s#'"-][^:#]*?)[ \t]*:(?:[ \t]|$)""")


def sequence_indent(text: str) -> int:
    """Column of the `- ` items under `models:` (2 when there are none yet)."""
    lines = text.split("\n")
    start = _models_line(lines)
    if start is None:
        return 2
    for line in lines[start + 1 :]:
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("-") and (stripped[1:2] in ("", " ")):
            return len(line) - len(stripped)
        break
    return 2


def insert_entry(text: str, entry_text: str, *, path: Path) -> str:
    """`text` with `entry_text` added as the last item of `models:`; the existing bytes are kept."""
    lines = text.split("\n")  # YAML 1.2 breaks lines at \n (and \r\n) only, unlike str.splitlines
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    start = _models_line(lines)
    if start is None:
        return _ensure_newline(text) + "models:\n" + entry_text
    match = _MODELS_KEY.match(lines[start].rstrip("\r"))
    value = (match.group("rest") if match else "").split("#", 1)[0].strip()
    if value == "[]":
        # An empty flow list cannot take block items: this one line becomes `models:` (its comment kept).
        comment = lines[start].split("#", 1)[1] if "#" in lines[start] else None
        replacement = "models:" + ("" if comment is None else "  #" + comment)
        text = text[: offsets[start]] + replacement + text[offsets[start] + len(lines[start]) :]
        return insert_entry(text, entry_text, path=path)
    if value:
        raise InputError(
            "`models:` is not written as a block list (`- model: ...` items), so record cannot append to it",
            path=path,
            line=start + 1,
            hint="rewrite `models:` as a block list, or add the entry by hand",
        )
    end = _end_of_models(lines, start)
    before = _ensure_newline(text[: offsets[end]] if end < len(lines) else text)
    after = text[offsets[end] :] if end < len(lines) else ""
    has_items = any(line.strip() and not line.lstrip().startswith("#") for line in lines[start + 1 : end])
    separator = "\n" if has_items and not before.endswith("\n\n") else ""
    return before + separator + entry_text + after


def _models_line(lines: list[str]) -> int | None:
    for number, line in enumerate(lines):
        if _MODELS_KEY.match(line.rstrip("\r")):
            return number
    return None


def _end_of_models(lines: list[str], start: int) -> int:
    """Index of the line where `models:` ends: the next top-level key, less the comments and blank lines
    just above it (they introduce that key), or the number of lines (the end of the file)."""
    for number in range(start + 1, len(lines)):
        if _TOP_KEY.match(lines[number]):
            end = number
            while end - 1 > start and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
                end -= 1
            return end
    return len(lines)


def _ensure_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def new_entry(data: dict[str, Any]) -> ModelEntry:
    """Validate the fields of a new entry (UsageError, exit 2, on anything wrong: nothing is written)."""
    from pydantic import ValidationError

    try:
        return from_plain(ModelEntry, data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "entry"
        message = str(first["ctx"]["error"]) if first["type"] == "value_error" else first["msg"]
        raise UsageError(f"the new entry is not valid: {where}: {message}", hint="nothing was written") from None


def flag_from_json(text: str) -> dict[str, Any]:
    """`--required-flag-json '{"flag": ..., "applies_when": {...}}'` -> the fields of a required flag."""
    import json

    try:
        data = json.loads(text)
    except ValueError as error:
        raise UsageError(f"--required-flag-json is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise UsageError("--required-flag-json must be a JSON object of required-flag fields")
    names = [declared.name for declared in fields(RequiredFlag)]
    unknown = set(data) - set(names)
    if unknown:
        raise UsageError(
            f"--required-flag-json: unknown field(s) {', '.join(sorted(unknown))}",
            hint=f"fields: {', '.join(names)}",
        )
    return data
