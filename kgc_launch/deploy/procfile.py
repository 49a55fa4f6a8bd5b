"""Procfiles (`Procfile`, `Procfile.*`: Heroku, Dokku, honcho, foreman) -> the engine launches of their processes.

Each `NAME: COMMAND` line declares a process type whose command a shell runs (`$PORT` and the app's
config variables come from the platform, not the file). The commands are read as the lines of a shell
script, in place, so each launch keeps its line.
"""

from __future__ import annotations

import re

from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.script import script_findings

_PROCESS = re.compile(r"^\s*[A-Za-z0-9_-]+\s*:\s?")


def is_procfile(name: str) -> bool:
    return name == "Procfile" or name.startswith("Procfile.")


def procfile_findings(text: str, path: str) -> Findings:
    return script_findings(procfile_script(text), path, mention_text=text)


def procfile_script(text: str) -> str:
    """The process commands as a shell script with the Procfile's line numbers."""
    lines = []
    for line in text.split("\n"):
        found = _PROCESS.match(line)
        lines.append("" if found is None or line.lstrip().startswith("#") else line[found.end() :])
    return "\n".join(lines)
