"""ferrum's runtime config entries (`runtime_config.rs` at the seed's revision a35ef235).

An entry is `{key, effective_value, source, affects}`; `affects` is derived from the key's name. The
keyword sets are the seed revision's: later ferrum releases added more (FIT_POLICY, NATIVE, ...), and
matching those would change `env_hash` for artifacts written by the ferrum this port follows.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

FERRUM_PREFIX = "FERRUM_"


class RuntimeConfigSource(str, enum.Enum):
    DEFAULT = "default"
    CONFIG_FILE = "config_file"
    CLI = "cli"
    ENV = "env"
    SCRIPT_CASE = "script_case"
    MEMORY_PROFILE = "memory_profile"


class RuntimeConfigEffect(str, enum.Enum):
    """Impact classes; declaration order is the sort order ferrum uses."""

    CORRECTNESS = "correctness"
    PERFORMANCE = "performance"
    MEMORY = "memory"
    DIAGNOSTICS = "diagnostics"

    @property
    def rank(self) -> int:
        return _EFFECT_ORDER.index(self)


_EFFECT_ORDER = list(RuntimeConfigEffect)

# Source precedence when several sources set one key (ferrum: CLI > env > ferrum.toml > default).
SOURCE_PRECEDENCE = (
    RuntimeConfigSource.CLI,
    RuntimeConfigSource.ENV,
    RuntimeConfigSource.CONFIG_FILE,
    RuntimeConfigSource.DEFAULT,
)

_DIAGNOSTICS = ("DIAG", "PROF", "TRACE", "DUMP", "LOG_CONFIG", "CAPTURE", "DEBUG")
_MEMORY = ("KV", "BATCHED_TOKENS", "PAGED_MAX_SEQS", "MODEL_LEN", "MEMORY")
_CORRECTNESS = ("PREFIX_CACHE", "MODEL_PATH", "MODEL_LEN", "SPEC_", "REF_", "DTYPE")
_PERFORMANCE = (
    "MOE", "VLLM", "MARLIN", "PAGED", "GRAPH", "SCHED", "BATCH", "ATTN", "FLASH", "CUDA", "TRITON",
    "GREEDY", "FA",
)  # fmt: skip


def infer_effects(key: str) -> list[RuntimeConfigEffect]:
    """What a key affects, from substrings of its name, sorted and de-duplicated as ferrum does."""
    effects: set[RuntimeConfigEffect] = set()
    if any(word in key for word in _DIAGNOSTICS):
        effects.add(RuntimeConfigEffect.DIAGNOSTICS)
    if any(word in key for word in _MEMORY):
        effects.add(RuntimeConfigEffect.MEMORY)
    if any(word in key for word in _CORRECTNESS):
        effects.add(RuntimeConfigEffect.CORRECTNESS)
    if not effects or any(word in key for word in _PERFORMANCE):
        effects.add(RuntimeConfigEffect.PERFORMANCE)
    return sorted(effects, key=lambda effect: effect.rank)


@dataclass(slots=True, frozen=True, kw_only=True)
class RuntimeConfigEntry:
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    key: str
    effective_value: str
    """Always a string, as ferrum stores it."""
    source: RuntimeConfigSource
    affects: list[RuntimeConfigEffect]

    @classmethod
    def new(cls, key: str, effective_value: str, source: RuntimeConfigSource) -> RuntimeConfigEntry:
        return cls(key=key, effective_value=effective_value, source=source, affects=infer_effects(key))


@dataclass(slots=True, kw_only=True)
class RuntimeConfigSnapshot:
    """Effective runtime entries, sorted by key (byte order)."""

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    entries: list[RuntimeConfigEntry] = field(default_factory=list)

    @classmethod
    def from_env_vars(cls, variables: Iterable[tuple[str, str]]) -> RuntimeConfigSnapshot:
        """Keep `FERRUM_*` keys (case-sensitive) as `env` entries; a later duplicate replaces the earlier."""
        return cls.from_entries(
            RuntimeConfigEntry.new(key, value, RuntimeConfigSource.ENV)
            for key, value in variables
            if key.startswith(FERRUM_PREFIX)
        )

    @classmethod
    def from_entries(cls, entries: Iterable[RuntimeConfigEntry]) -> RuntimeConfigSnapshot:
        by_key = {entry.key: entry for entry in entries}
        return cls(entries=[by_key[key] for key in sorted(by_key, key=_byte_order)])

    @classmethod
    def from_sources(cls, sources: Mapping[RuntimeConfigSource, Mapping[str, str]]) -> RuntimeConfigSnapshot:
        """Merge several sources; per key the highest in `SOURCE_PRECEDENCE` wins and keeps its source."""
        chosen: dict[str, RuntimeConfigEntry] = {}
        for source in reversed(SOURCE_PRECEDENCE):
            for key, value in sources.get(source, {}).items():
                chosen[key] = RuntimeConfigEntry.new(key, value, source)
        unknown = set(sources) - set(SOURCE_PRECEDENCE)
        for source in unknown:  # script_case / memory_profile: below every operator-given source
            for key, value in sources[source].items():
                chosen.setdefault(key, RuntimeConfigEntry.new(key, value, source))
        return cls.from_entries(chosen.values())

    def get(self, key: str) -> RuntimeConfigEntry | None:
        for entry in self.entries:
            if entry.key == key:
                return entry
        return None

    def upsert(self, key: str, effective_value: str, source: RuntimeConfigSource) -> None:
        kept = [entry for entry in self.entries if entry.key != key]
        kept.append(RuntimeConfigEntry.new(key, effective_value, source))
        self.entries = RuntimeConfigSnapshot.from_entries(kept).entries


def _byte_order(key: str) -> bytes:
    return key.encode("utf-8")


# Rust's `str::trim` strips Unicode White_Space; Python's `str.strip()` also strips U+001C..U+001F.
_RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def rust_trim(text: str) -> str:
    """`text.trim()` as Rust does it."""
    return text.strip(_RUST_WHITESPACE)


def ascii_lower(text: str) -> str:
    """`to_ascii_lowercase()`: unlike `str.lower()`, letters outside ASCII stay as they are."""
    return text.translate(_ASCII_LOWER)


def rust_debug_str(text: str) -> str:
    """A string quoted as Rust's `{:?}` does, so error texts match ferrum's."""
    out = ['"']
    for char in text:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char == "\0":
            out.append("\\0")
        elif not char.isprintable():
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def parse_bool_env_value(raw: str) -> bool:
    """`1 true yes on` / `0 false no off`, trimmed and case-insensitive. Raises ValueError otherwise."""
    value = ascii_lower(rust_trim(raw))
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"invalid boolean env value: {rust_debug_str(value)}")


def parse_usize_env_value(raw: str) -> int:
    """A non-negative integer as Rust's `usize::from_str` reads it (a leading `+` is accepted)."""
    value = rust_trim(raw)
    digits = value[1:] if value.startswith("+") else value
    if not digits or not digits.isascii() or not digits.isdigit() or int(digits) >= 2**64:
        raise ValueError(f"invalid integer env value: {rust_debug_str(raw)}")
    return int(digits)
