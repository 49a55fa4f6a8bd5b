"""The vLLM version a deploy file states for its launch, with the evidence, and the vocabulary releases it allows.

Read only where the file says it reliably:
- an image of vLLM's own (`registry/engine-images.json` entries with `tag_is_version`) with an exact release tag
  (`vllm/vllm-openai:v0.13.0`, `:0.9.2`): that release. `latest`, `nightly`, a digest, a tag with any other
  text (`v0.13.0-cu128` is kept: the suffix is the build, not the version) stay unknown;
- a requirement in a `pip install` / `uv pip install` / `python -m pip install` of the same file
  (`vllm==0.13.0`, `vllm>=0.13`, `"vllm[audio]~=0.11.0"`): the PEP 440 specifier. A bare `vllm` says nothing;
- when the file states neither, the repository's own Python requirements: the nearest directory at or above
  the file (up to the repository's root, the first with `.git`) that holds a `pyproject.toml` or a
  `requirements*.txt`; its `vllm` requirements there (dependencies, optional dependencies, groups; every
  requirements file) all hold. A project that requires no vLLM version says nothing.

The specifier is judged as `kgc_launch.versions.in_specifier` judges a registry scope: each release of the flag
vocabulary (registry/vllm-options.json) it contains is one the launch may run. The deploy check uses it to
judge the launch's flags (`kgc_launch.vllm.args.parse_serve_args(among=...)`), and an exact release
(`exact_release`: the image's tag, `vllm==X`) as the version of the resolver's rules too, as the launcher in
that image reads it (a known release only adds refusals: a rule needs certainty to refuse). The registry's
version scopes keep the version the check was given (`--engine-version`), so a statement never makes a
version-scoped requirement stop applying.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from kgc_launch.deploy.images import image_repository, known_image

_EXACT_TAG = re.compile(r"^v?(\d+\.\d+\.\d+(?:\.post\d+)?)(?:-[A-Za-z0-9_.]+)?$")
_REQUIREMENT = re.compile(r"^vllm(?:\[[^\]]*\])?\s*(?P<spec>(?:===?|~=|!=|>=|<=|>|<)[^;\s]*)\s*(?:;.*)?$")
_PIP = ("pip", "pip3")


@dataclass(frozen=True)
class StatedVersion:
    """One statement of the vLLM version in a deploy file."""

    specifier: str
    """PEP 440: `==0.13.0` for an image tag, the requirement's own for pip (`>=0.13`)."""
    evidence: str
    """What says it: `image tag vllm/vllm-openai:v0.13.0`, `pip requirement vllm>=0.13`."""
    where: str
    """`FILE:LINE` of the statement."""

    def describe(self) -> str:
        return f"{self.evidence} ({self.where})"


def from_image(image: str | None, where: str) -> StatedVersion | None:
    """The release an image of vLLM's own names by its tag, or None."""
    if not image or "@" in image:
        return None
    known = known_image(image)
    name = image.rsplit("/", 1)[-1]
    if known is None or not known.tag_is_version or ":" not in name:
        return None
    match = _EXACT_TAG.match(name.rsplit(":", 1)[1])
    if match is None:
        return None
    return StatedVersion(f"=={match.group(1)}", f"image tag {image_repository(image)}:{name.rsplit(':', 1)[1]}", where)


def from_install(words: Sequence[str], where: str) -> StatedVersion | None:
    """The vLLM requirement of a `pip install ...` command (its words after expansion), or None."""
    words = list(words)
    if words[:1] == ["uv"] and words[1:2] == ["pip"]:
        words = words[1:]
    elif (
        len(words) > 2
        and re.match(r"^python(\d+(\.\d+)?)?$", words[0].rsplit("/", 1)[-1])
        and words[1:3] == ["-m", "pip"]
    ):
        words = words[2:]
    if not words or words[0].rsplit("/", 1)[-1] not in _PIP or "install" not in words[1:2]:
        return None
    for word in words[2:]:
        match = _REQUIREMENT.match(word.strip("'\""))
        if match is not None and "$" not in word:
            return StatedVersion(match.group("spec").replace(" ", ""), f"pip requirement {word}", where)
    return None


_QUOTED = re.compile(r"""["']([^"'\n]+)["']""")


def from_project(file: str) -> list[StatedVersion]:
    """The vLLM requirements of the project `file` belongs to (see the module's docstring); [] when none."""
    if not os.path.isfile(file):
        return []  # stdin, a rendered stream: no directory to look in
    return list(_project_requirements(os.path.dirname(os.path.abspath(file))))


@lru_cache(maxsize=256)
def _project_requirements(directory: str) -> tuple[StatedVersion, ...]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return ()
    project = [n for n in names if n == "pyproject.toml" or (n.startswith("requirements") and n.endswith(".txt"))]
    if project:
        return tuple(item for name in project for item in _requirements_in(os.path.join(directory, name)))
    parent = os.path.dirname(directory)
    if ".git" in names or parent == directory:
        return ()
    return _project_requirements(parent)


def _requirements_in(path: str) -> list[StatedVersion]:
    """`vllm` requirements of a requirements file (one per line) or a pyproject.toml (quoted strings)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read(1 << 20).splitlines()
    except OSError:
        return []
    toml = path.endswith(".toml")
    stated = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        for candidate in _QUOTED.findall(text) if toml else [text]:
            match = _REQUIREMENT.match(candidate.strip())
            if match is not None:
                spec = match.group("spec").replace(" ", "")
                stated.append(StatedVersion(spec, f"project requirement {candidate.strip()}", f"{path}:{number}"))
    return stated


def releases_of(stated: Sequence[StatedVersion]) -> tuple[str, ...] | None:
    """The vocabulary releases every statement allows, oldest first; None when nothing is stated, and an empty
    tuple when the statements allow none of them (then nothing is narrowed: said, not guessed)."""
    if not stated:
        return None
    return _releases_for(tuple(item.specifier for item in stated))


def exact_release(stated: Sequence[StatedVersion]) -> str | None:
    """The one release the statements pin (`==0.13.0`: an exact image tag, `pip install vllm==0.13.0`) when every
    statement allows it; None for ranges only, for nothing stated, or for statements that disagree."""
    from kgc_launch.versions import in_specifier, parse_engine_version

    pinned = {item.specifier.lstrip("=") for item in stated if item.specifier.startswith("==")}
    if len(pinned) != 1 or "*" in next(iter(pinned)):
        return None
    release = pinned.pop()
    version = parse_engine_version(release)
    try:
        agreed = version is not None and version.exact and all(in_specifier(version, s.specifier) for s in stated)
    except ValueError:  # a specifier that is not PEP 440: nothing is pinned
        return None
    return release if agreed else None


@lru_cache(maxsize=256)  # a fleet states the same few versions over and over
def _releases_for(specifiers: tuple[str, ...]) -> tuple[str, ...]:
    from kgc_launch.versions import in_specifier, parse_engine_version
    from kgc_launch.vllm import vocabulary

    allowed: list[str] = []
    for release in vocabulary.known_releases():
        version = parse_engine_version(release)
        if version is None:
            continue
        try:
            if all(in_specifier(version, specifier) for specifier in specifiers):
                allowed.append(release)
        except ValueError:
            return ()
    if not allowed:  # `==0.9.1` names a release the vocabulary stands for by its line (0.9.2)
        exact = [vocabulary.resolve_release(spec[2:]) for spec in specifiers if spec.startswith("==")]
        allowed = sorted({release for release in exact if release is not None})
    return tuple(allowed)
