"""What a reader found in one file: launches, notes about what it could not read, KServe pieces to join."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kgc_launch.deploy.launch import Launch

if TYPE_CHECKING:  # kserve builds on these records; the annotations only name its types
    from kgc_launch.deploy.command import ReadLaunches
    from kgc_launch.deploy.kserve import ModelReference, RuntimeTemplate


@dataclass
class Findings:
    launches: list[Launch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the file should be told that is not a launch: another engine's start (not checked), a command
    that mentions an engine but starts none, a disabled entry."""
    unevaluated: list[str] = field(default_factory=list)
    """What mentions an engine but could not be read at all (an unknown ENTRYPOINT without args, a Go
    template, code that is not in the file): the file is 'not evaluated' when it has no launch."""
    runtimes: list[RuntimeTemplate] = field(default_factory=list)
    references: list[ModelReference] = field(default_factory=list)
    documents: list[Any] = field(default_factory=list)
    """The file's loaded YAML documents (for the scan's check of whether the file mentions an engine)."""
    mention: tuple[str, str] | None = None
    """The engine word the file mentions, and where when not where it may launch one (set by the scan)."""

    def add(self, launches: list[Launch], notes: list[str], unevaluated: Sequence[str] = ()) -> None:
        self.launches += launches
        self.notes += notes
        self.unevaluated += unevaluated

    def take(self, read: ReadLaunches) -> None:
        self.add(read.launches, read.notes, read.unevaluated)

    def merge(self, other: Findings) -> None:
        self.add(other.launches, other.notes, other.unevaluated)
        self.runtimes += other.runtimes
        self.references += other.references
