"""Whether a requirement's `applies_when` holds for a launch. Pure; fail-closed.

Each condition gives yes, no, or "cannot tell" (engine version unknown, no GPU information, a GPU whose
compute capability is unknown). One "no" is enough to set a requirement aside; otherwise it applies, and
when something could not be decided the decision says what, so the output can explain why it applied.
`packaging` is imported only when a version specifier has to be evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from kgc_launch.knowngood.schema import AppliesWhen
from kgc_launch.versions import in_specifier, parse_engine_version

Gpu = tuple[str, str | None]
"""(device name, compute capability `major.minor` or None)."""


@dataclass(frozen=True)
class ScopeDecision:
    applies: bool
    because: str | None = None
    """Why it does not apply (when `applies` is False)."""
    applied_because: str | None = None
    """What could not be decided, so that it applied anyway (fail-closed)."""


APPLIES = ScopeDecision(applies=True)


def decide_scope(
    scope: AppliesWhen | None, *, engine: str, engine_version: str | None, gpus: Sequence[Gpu] | None
) -> ScopeDecision:
    """Decide one requirement's scope for a launch."""
    if scope is None:
        return APPLIES
    undecided: list[str] = []
    if scope.engine_version is not None:
        verdict = _version_in(engine_version, scope.engine_version)
        if verdict is False:
            return ScopeDecision(False, because=f"{engine} {engine_version} is outside {scope.engine_version}")
        if verdict is None:
            undecided.append(_version_unknown(engine, engine_version, scope.engine_version))
    if scope.not_gpus is not None:
        verdict, detail = _gpus_excluded(scope.not_gpus, gpus)
        if verdict is False:
            return ScopeDecision(False, because=detail)
        if verdict is None:
            undecided.append(detail)
    if scope.compute_capability is not None or scope.gpus is not None:
        verdict, detail = _gpus_match(scope, gpus)
        if verdict is False:
            return ScopeDecision(False, because=detail)
        if verdict is None:
            undecided.append(detail)
    if undecided:
        return ScopeDecision(True, applied_because="; ".join(undecided) + " (fail-closed: it applies)")
    return APPLIES


def _version_unknown(engine: str, version: str | None, specifier: str) -> str:
    if version is None:
        return f"the {engine} version is unknown, so `{specifier}` could not be checked"
    parsed = parse_engine_version(version)
    if parsed is not None and parsed.release is not None:
        return f"{engine} {version} is a pre-release or development build at the edge of `{specifier}`"
    return f"{engine} version {version!r} is not a PEP 440 version, so `{specifier}` could not be checked"


def _version_in(version: str | None, specifier: str) -> bool | None:
    parsed = parse_engine_version(version)
    return None if parsed is None else in_specifier(parsed, specifier)


def _gpus_match(scope: AppliesWhen, gpus: Sequence[Gpu] | None) -> tuple[bool | None, str]:
    wanted = _describe(scope)
    if not gpus:
        return None, f"there is no GPU information, so {wanted} could not be checked"
    verdicts = [_gpu_matches(scope, name, capability) for name, capability in gpus]
    if any(verdict is True for verdict in verdicts):
        return True, ""
    names = ", ".join(sorted({f"{name} ({capability or 'capability unknown'})" for name, capability in gpus}))
    if any(verdict is None for verdict in verdicts):
        return None, f"the compute capability of {names} is unknown, so {wanted} could not be checked"
    return False, f"the GPUs here ({names}) are not {wanted}"


def _gpus_excluded(patterns: list[str], gpus: Sequence[Gpu] | None) -> tuple[bool | None, str]:
    """(False, why) when a visible GPU matches an excluding pattern; None when there is no GPU information."""
    wanted = "GPUs named " + " or ".join(f"`{pattern}`" for pattern in patterns)
    if not gpus:
        return None, f"there is no GPU information, so the exclusion of {wanted} could not be checked"
    for name, _ in gpus:
        if any(fnmatchcase(name.lower(), pattern.lower()) for pattern in patterns):
            return False, f"the GPUs here ({name}) are excluded ({wanted})"
    return True, ""


def _gpu_matches(scope: AppliesWhen, name: str, capability: str | None) -> bool | None:
    if scope.gpus is not None and not any(fnmatchcase(name.lower(), p.lower()) for p in scope.gpus):
        return False
    if scope.compute_capability is None:
        return True
    if capability is None:
        return None
    return _version_in(capability, scope.compute_capability)


def _describe(scope: AppliesWhen) -> str:
    parts = []
    if scope.gpus is not None:
        parts.append("GPUs named " + " or ".join(f"`{pattern}`" for pattern in scope.gpus))
    if scope.compute_capability is not None:
        parts.append(f"compute capability `{scope.compute_capability}`")
    return " with ".join(parts)
