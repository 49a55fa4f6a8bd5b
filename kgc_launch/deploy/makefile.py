"""Makefiles (`Makefile`, `makefile`, `GNUmakefile`, `*.mk`) -> the engine launches of their recipes.

make hands each recipe line (a tab-indented line under a `target:` line) to `/bin/sh -c`, after removing
the tab and the `@`, `-`, `+` prefixes and expanding its own references: `$(NAME)` / `${NAME}` from the
Makefile's variables (`NAME = x`, `:=`, `::=`, `?=`, `+=`), `$$` to `$`. A continued recipe line keeps its
backslash-newline for the shell and loses its leading tab. The recipes are read as the lines of one shell
script, in place (every other line is left empty), so each launch keeps its line; `export NAME := value`
reaches the recipes as an environment variable. A reference make computes (`$(shell ...)`, `$(wildcard
...)`, an automatic variable such as `$@`) is left as the shell would see it: not known here.
"""

from __future__ import annotations

import re
import shlex

from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.script import script_findings

_NAMES = ("Makefile", "makefile", "GNUmakefile")
_ASSIGNMENT = re.compile(r"^(export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(\+=|\?=|::=|:=|!=|=)\s*(.*)$")
_REFERENCE = re.compile(r"\$\$|\$\(([^()$]*)\)|\$\{([^{}$]*)\}")
_RULE = re.compile(r"^[^\t#=:][^=]*?:(?![:=])")


def is_makefile(name: str) -> bool:
    return name in _NAMES or name.endswith(".mk")


def makefile_findings(text: str, path: str) -> Findings:
    return script_findings(makefile_script(text), path, mention_text=text)


def makefile_script(text: str) -> str:
    """The recipes of a Makefile as a shell script with the Makefile's line numbers."""
    lines = text.split("\n")
    out = [""] * len(lines)
    variables: dict[str, str] = {}
    in_rule = continued = False
    for index, line in enumerate(lines):
        if line.startswith("\t") and (in_rule or continued):
            command = line[1:] if continued else line[1:].lstrip(" @-+")
            out[index] = _expand(command, variables)
            continued = line.rstrip().endswith("\\")
            continue
        continued = False
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment is not None:
            in_rule = False
            exported, name, operator, value = assignment.groups()
            if operator == "?=" and name in variables:
                continue
            value = _expand(value.strip(), variables) if operator in (":=", "::=") else value.strip()
            variables[name] = variables.get(name, "") + " " + value if operator == "+=" else value
            if exported:
                known = _expand(variables[name], variables)
                computed = operator == "!=" or "$(" in known or "`" in known  # by make or a shell: not here
                out[index] = f"export {name}" if computed else f"export {name}={shlex.quote(known)}"
            continue
        in_rule = _RULE.match(line) is not None
    return "\n".join(out)


def _expand(text: str, variables: dict[str, str], depth: int = 0) -> str:
    """make's expansion of a recipe line or a value: known variables in, `$$` to `$`, the rest for the shell."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
        if name in variables and depth < 8:
            return _expand(variables[name], variables, depth + 1)
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            return "${" + name + "}"  # not set in the Makefile: the environment's, as make would take it
        return match.group(0)  # a make function (`$(shell ...)`): left for the shell, which cannot know it

    return _REFERENCE.sub(one, text)
