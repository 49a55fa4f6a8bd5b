"""A GPU's compute capability, parsed once: the only reader of the `major.minor` text NVML, presets and
hardware files give.

NVML reports two integers; files may carry an architecture suffix (`9.0a`, `10.0f`, as in CUDA's
`sm_90a`), which names the same capability for every rule here. Anything else is unknown (None), never
0.0: an unknown capability must not pass or fail a check by accident. (ferrum's own parse of a
`HardwareCapabilities` record stays a line-for-line port of the Rust in `kgc_launch.ferrum.validate`.)
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Capability(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


_CAPABILITY = re.compile(r"^(\d{1,3})(?:\.(\d{1,3}))?[a-z]?$")


def parse_capability(text: str | None) -> Capability | None:
    """`"8.9"` -> (8, 9); `"9"` -> (9, 0); `"9.0a"` -> (9, 0); None for anything else."""
    if text is None:
        return None
    match = _CAPABILITY.match(text.strip())
    if match is None:
        return None
    return Capability(int(match.group(1)), int(match.group(2) or 0))
