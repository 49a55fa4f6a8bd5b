"""Engine versions: the one version type of kgc-launch, and the ranges rules and registry scopes are keyed on.

A version is parsed once (`parse_engine_version`) into its release tuple and whether it is exact. A
pre-release or development build (`0.14.0rc1`, `0.21.1.dev47+g191e`) is inexact: its code sits somewhere
between the previous release and its own, so a comparison at its own release is undecidable, never
silently true or false. The vLLM rules use the small `>=X,<Y` ranges below (no `packaging` on the launch
path); a registry's PEP 440 specifiers are evaluated with `packaging` (`in_specifier`), under the same rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Release = tuple[int, ...]

_VERSION = re.compile(
    r"^v?(?P<release>\d+(?:\.\d+)*)"
    r"(?P<pre>(?:a|b|rc|alpha|beta)\d*)?"
    r"(?P<post>\.post\d+)?"
    r"(?P<dev>\.dev\d*)?"
    r"(?:\+(?P<local>[A-Za-z0-9.]+))?$"
)
_CLAUSE = re.compile(r"^(?P<op>>=|<)\s*(?P<version>\d+(?:\.\d+)*)$")


@dataclass(frozen=True)
class EngineVersion:
    """An installed vLLM version as far as it can be compared with release boundaries."""

    text: str
    release: Release | None
    """(0, 11, 1) for `0.11.1` and `0.11.1.post1`; None when the text is not a version."""
    exact: bool
    """False for pre-releases and dev builds: their features sit between two releases."""

    @property
    def known(self) -> bool:
        return self.release is not None and self.exact

    def why_inexact(self) -> str:
        if self.release is None:
            return f"vLLM version {self.text!r} is not a release number"
        return f"vLLM {self.text} is a pre-release or development build"


def parse_engine_version(text: str | None) -> EngineVersion | None:
    """`0.11.1`, `0.8.5.post1`, `0.9.2+cu126` are exact; `0.14.0rc1`, `0.1.dev123+g0abc` are not."""
    if text is None or not text.strip():
        return None
    match = _VERSION.match(text.strip())
    if match is None:
        return EngineVersion(text=text.strip(), release=None, exact=False)
    release = _normalize(tuple(int(part) for part in match.group("release").split(".")))
    exact = match.group("pre") is None and match.group("dev") is None
    return EngineVersion(text=text.strip(), release=release, exact=exact)


def _normalize(release: Release) -> Release:
    """Drop trailing zeros so that `0.9` == `0.9.0`."""
    parts = list(release)
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


@dataclass(frozen=True)
class VersionRange:
    """`[since, until)`; None on either side means open. Written `>=0.5.2,<0.13.0` in the data."""

    since: Release | None = None
    until: Release | None = None
    text: str = ""

    def contains(self, release: Release) -> bool:
        if self.since is not None and release < self.since:
            return False
        return self.until is None or release < self.until

    def describe(self) -> str:
        return self.text or "every version"


def parse_range(spec: str) -> VersionRange:
    """`""` (all), `>=0.5.2`, `<0.13.0` or `>=0.5.2,<0.13.0`. Raises ValueError on anything else."""
    since: Release | None = None
    until: Release | None = None
    for clause in (part.strip() for part in spec.split(",")):
        if not clause:
            continue
        match = _CLAUSE.match(clause)
        if match is None:
            raise ValueError(f"version range clause {clause!r}: only '>=X' and '<Y' are understood")
        version = _normalize(tuple(int(part) for part in match.group("version").split(".")))
        if match.group("op") == ">=":
            since = version
        else:
            until = version
    if since is not None and until is not None and since >= until:
        raise ValueError(f"version range {spec!r} is empty")
    return VersionRange(since=since, until=until, text=spec.strip())


def in_specifier(version: EngineVersion, specifier: str) -> bool | None:
    """Whether `version` satisfies a PEP 440 specifier (`>0.21.0`, `~=0.11`, `<0.14.0`); None when it cannot
    be told: not a version, or an inexact build that a boundary cuts. An inexact build of release R lies
    just below R (after every earlier release), so each clause is judged at R and just below R; the two
    must agree. Raises ValueError for a specifier that is not PEP 440."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        clauses = list(SpecifierSet(specifier))
    except InvalidSpecifier as error:
        raise ValueError(str(error)) from None
    if version.release is None:
        return None
    release = version.release
    at_release = all(clause.contains(".".join(map(str, release)), prereleases=True) for clause in clauses)
    if version.exact:
        return at_release
    try:
        below = all(_just_below(clause.operator, Version(clause.version.rstrip(".*")), clause.version, release)
                    for clause in clauses)  # fmt: skip
    except InvalidVersion:
        return None
    return at_release if below == at_release else None


def _just_below(operator: str, bound: Any, written: str, release: Release) -> bool:
    """A PEP 440 clause judged at a version just below `release` (and above every earlier release)."""
    edge = _normalize(tuple(bound.release))
    if written.endswith(".*"):  # `==0.14.*`: the prefix matches below `release` unless release starts it
        prefix = tuple(bound.release)
        inside = release[: len(prefix)] == prefix and _normalize(release) != _normalize(prefix)
        return inside if operator == "==" else not inside
    if operator == "<":
        return release <= edge
    if operator == "<=":
        return release <= edge
    if operator == ">":
        return release > edge
    if operator == ">=":
        return release > edge
    if operator == "~=":  # >= bound and the same prefix (all but the last part)
        prefix = _normalize(tuple(bound.release[:-1]))
        return release > edge and release[: len(prefix)] == prefix
    return operator == "!="  # `==X` / `===X`: nothing lies strictly between two releases
