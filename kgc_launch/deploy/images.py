"""Container images: which ENTRYPOINT a known image has, and whether a name or text mentions an engine.

The known images are data, `registry/engine-images.json` (each with the evidence for its ENTRYPOINT); an
image that is not listed has an unknown ENTRYPOINT, and a launch that depends on it is said to be not
evaluated rather than guessed.

An engine is *mentioned* by the word `vllm` or `ferrum` (any case, not inside a longer word:
`vllm/vllm-openai`, `opea/vllm-gaudi`, `pip install vllm`, `engine: VLLM`), except in the names of known
non-engines (`vllm-router`). A deploy file that mentions an engine and yields no launch is reported as not
evaluated, never passed over in silence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

from kgc_launch.data import shipped_file

IMAGES_FILE = "engine-images.json"
_ENGINE_WORD = re.compile(r"(?<![A-Za-z0-9_])(vllm|ferrum)(?![A-Za-z0-9_])", re.IGNORECASE)


@dataclass(frozen=True)
class KnownImage:
    repository: str
    entrypoint: tuple[str, ...]
    engine: str
    accelerator: str
    evidence: str
    tag_is_version: bool = False
    """vLLM's own image: an exact release tag is the vLLM version it holds."""


@dataclass(frozen=True)
class ImageTable:
    images: dict[str, KnownImage]
    not_engines: frozenset[str]
    not_engine_words: tuple[str, ...]


@cache
def image_table() -> ImageTable:
    """The shipped table (read once per process)."""
    document = json.loads(shipped_file(IMAGES_FILE).read_text(encoding="utf-8"))
    images = {
        entry["repository"]: KnownImage(
            entry["repository"],
            tuple(entry["entrypoint"]),
            entry["engine"],
            entry["accelerator"],
            entry["evidence"],
            bool(entry.get("tag_is_version")),
        )
        for entry in document["images"]
    }
    not_engines = frozenset(entry["repository"] for entry in document.get("not_engines", []))
    words = tuple(entry["word"].lower() for entry in document.get("not_engine_words", []))
    return ImageTable(images, not_engines, words)


def image_repository(image: str) -> str:
    """`registry.example.com:5000/vllm/vllm-openai:v0.11.0@sha256:...` -> `vllm/vllm-openai`."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    parts = name.split("/")
    return "/".join(parts[-2:])


def known_image(image: str | None) -> KnownImage | None:
    if not image:
        return None
    return image_table().images.get(image_repository(image))


def image_entrypoint(image: str | None) -> list[str] | None:
    """The ENTRYPOINT of an image we know, by repository name (any registry, tag or digest)."""
    known = known_image(image)
    return None if known is None else list(known.entrypoint)


def mentions_engine_text(text: str) -> str | None:
    """The engine word `text` mentions (`vllm`, `ferrum`), or None; names of known non-engines do not count."""
    table = image_table()
    lowered = text.lower()
    for match in _ENGINE_WORD.finditer(text):
        start = match.start()
        if any(lowered.startswith(word, start) or _inside(lowered, start, word) for word in table.not_engine_words):
            continue
        return match.group(1).lower()
    return None


def _inside(text: str, start: int, word: str) -> bool:
    """Whether the engine word at `start` is part of an occurrence of `word` (`my-vllm-router`)."""
    found = text.rfind(word, max(0, start - len(word)), start + len(word))
    return found >= 0 and found <= start < found + len(word)


def is_engine_image(image: str | None) -> bool:
    """A known engine image, or one whose name mentions an engine (`opea/vllm-gaudi`, `lmcache/vllm-openai`)."""
    if not image:
        return False
    if known_image(image) is not None:
        return True
    if image_repository(image) in image_table().not_engines:
        return False
    return mentions_engine_text(image_repository(image)) is not None
