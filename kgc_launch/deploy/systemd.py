"""systemd unit files (`*.service`) -> the engine launches of their `ExecStart=` commands.

systemd runs `ExecStart=`, `ExecStartPre=` and `ExecStartPost=` of the `[Service]` section itself (no shell):
the line is split into words with shell-like quotes, `$VAR` / `${VAR}` come from `Environment=` (and from
`EnvironmentFile=`, whose values are not in the file), a trailing backslash continues the line, and the
prefixes `-@:+!` change how it is run, not what (systemd.service(5), "Command lines"). Those lines are read
as the lines of a shell script, in place, so that each launch keeps its line: `Environment="A=1" B=2`
becomes `export A=1 B=2`, the command keeps its words, every other line is left empty. A command that runs a
script (`ExecStart=/opt/start-vllm.sh`) is said as a script that is not in this file.
"""

from __future__ import annotations

import re
import shlex

from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.script import script_findings

_EXEC_KEYS = frozenset(["ExecStart", "ExecStartPre", "ExecStartPost"])
_KEY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)\s*=\s?(.*)$")
_PREFIXES = "-@:+!"


def is_systemd_unit(name: str) -> bool:
    return name.endswith(".service")


def systemd_findings(text: str, path: str) -> Findings:
    return script_findings(unit_script(text), path, mention_text=text)


def unit_script(text: str) -> str:
    """The unit's commands and environment as a shell script with the unit's line numbers."""
    lines = text.split("\n")
    out = [""] * len(lines)
    section = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        end = index
        while end + 1 < len(lines) and lines[end].rstrip().endswith("\\") and not stripped.startswith(("#", ";")):
            end += 1  # a continued line: the command's words go on
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        found = _KEY.match(line) if section == "Service" else None
        if found is not None and found.group(1) in _EXEC_KEYS:
            out[index] = found.group(2).lstrip(_PREFIXES)
            out[index + 1 : end + 1] = lines[index + 1 : end + 1]
        elif found is not None and found.group(1) == "Environment":
            value = " ".join([found.group(2).rstrip("\\"), *(part.rstrip("\\") for part in lines[index + 1 : end + 1])])
            out[index] = _exports(value)
        index = end + 1
    return "\n".join(out)


def _exports(value: str) -> str:
    """`Environment="A=1 2" B=3` as `export A='1 2' B=3` (systemd's quotes are removed before the split)."""
    try:
        words = shlex.split(value)
    except ValueError:
        return ""
    assignments = [word.partition("=") for word in words if "=" in word]
    return "export " + " ".join(f"{name}={shlex.quote(setting)}" for name, _, setting in assignments if name)
