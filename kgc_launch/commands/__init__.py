"""One module per subcommand. Each exposes `add_arguments(parser)` and `run(args) -> int`.

The table below is all the CLI knows before a command is chosen: only the chosen command's module is
imported, so `kgc-launch probe` never pays for the registry editor and a launch pays for neither.
"""

from __future__ import annotations

from typing import NamedTuple


class CommandSpec(NamedTuple):
    module: str
    summary: str


COMMANDS: dict[str, CommandSpec] = {
    "probe": CommandSpec("kgc_launch.commands.probe", "show the GPUs and what an engine started here would use"),
    "resolve": CommandSpec(
        "kgc_launch.commands.resolve", "resolve ferrum's serving config: print its decisions, write artifacts"
    ),
    "replay": CommandSpec(
        "kgc_launch.commands.replay",
        "resolve a recorded effective_config.json again; exit 1 if anything differs",
    ),
    "diff": CommandSpec(
        "kgc_launch.commands.diff", "compare two effective_config.json documents; exit 1 if they differ"
    ),
    "model": CommandSpec(
        "kgc_launch.commands.model", "model inspect MODEL: its metadata (disk, HF cache, the Hub, the catalog)"
    ),
    "fit": CommandSpec("kgc_launch.commands.fit", "will MODEL fit on --hardware under vLLM? the memory plan"),
    "check": CommandSpec(
        "kgc_launch.commands.check", "check serve args or a deploy file against the known-good registry"
    ),
    "record": CommandSpec("kgc_launch.commands.record", "append a new model's required flags to the registry"),
    "show": CommandSpec("kgc_launch.commands.show", "show a model's registry entry and which flags apply here"),
    "list": CommandSpec("kgc_launch.commands.list_models", "list the registered models"),
    "registry": CommandSpec("kgc_launch.commands.registry", "registry maintenance: 'registry validate [PATH]'"),
    "schema": CommandSpec("kgc_launch.commands.schema", "print the registry's JSON Schema (for editors)"),
    "gate": CommandSpec("kgc_launch.commands.gate", "gates: 'gate closure --model ID' (registered + next_lever)"),
}
