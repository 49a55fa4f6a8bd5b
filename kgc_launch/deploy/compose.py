"""docker compose files -> the engine launches of their services.

Read as `docker compose` does:
- `${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR:?err}` are interpolated in
  the file's strings from the given variables (the role of the shell running `docker compose`) over those
  of the `.env` file beside the compose file; `$$` is a literal `$`. A variable set in neither stays
  visible as written and is said (compose would substitute an empty string);
- `entrypoint` replaces the image's ENTRYPOINT (and drops its CMD), `command` replaces CMD; both may be a
  list or a string split with shell quoting rules (not run through a shell);
- `environment` is a mapping or a list of `KEY=VALUE`; a bare `KEY` takes the value from the shell running
  compose (unknown here); `env_file` files are read (a missing one is said);
- GPUs: `deploy.resources.reservations.devices` entries with the `gpu` capability (`count`, `device_ids`)
  and the `gpus` attribute; `count: all` means every GPU of the host (not a number). AMD GPUs are given to
  a container as the devices `/dev/kfd` and `/dev/dri` (ROCm's documented way): such a service asks for
  AMD GPUs, which an NVIDIA `--hardware` does not judge.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kgc_launch.deploy.accelerators import Accelerator
from kgc_launch.deploy.command import ReadLaunches, container_argv, read_launches
from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.launch import EnvValue, Unknown, mentions_engine
from kgc_launch.deploy.origin import Origin, SourceText
from kgc_launch.errors import InputError
from kgc_launch.yamlio import line_of, read_text_limited


def is_compose(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("services"), dict) and "apiVersion" not in document


class Interpolation:
    """Compose's variable substitution, remembering what it could not resolve."""

    def __init__(self, variables: Mapping[str, str]) -> None:
        self.variables = variables
        self.missing: list[str] = []
        self.defaulted: list[str] = []
        """`${VAR:-default}` forms whose default was used because VAR is not set here."""

    def __call__(self, text: str) -> str:
        out: list[str] = []
        index = 0
        while index < len(text):
            char = text[index]
            following = text[index + 1 : index + 2]
            if char != "$" or not following:
                out.append(char)
                index += 1
            elif following == "$":
                out.append("$")
                index += 2
            elif following == "{":
                end = _closing_brace(text, index + 2)
                out.append(self.braced(text[index : end + 1]))
                index = end + 1
            elif following.isalpha() or following == "_":
                end = index + 1
                while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                    end += 1
                out.append(self.value(text[index + 1 : end], text[index:end]))
                index = end
            else:
                out.append(char)
                index += 1
        return "".join(out)

    def braced(self, raw: str) -> str:
        inner = raw[2:-1]
        for op in (":-", ":?", ":+", "-", "?", "+"):
            name, found, operand = inner.partition(op)
            if found and name and all(c.isalnum() or c == "_" for c in name):
                value = self.variables.get(name)
                is_set = value is not None and (not op.startswith(":") or value != "")
                if op.endswith("-"):
                    if is_set and value is not None:
                        return value
                    if value is None and raw not in self.defaulted:
                        self.defaulted.append(raw)
                    return self(operand)
                if op.endswith("+"):
                    return self(operand) if is_set else ""
                if is_set and value is not None:
                    return value
                return self.value(name, raw)
        return self.value(inner, raw)

    def value(self, name: str, raw: str) -> str:
        value = self.variables.get(name)
        if value is None:
            if raw not in self.missing:
                self.missing.append(raw)
            return raw
        return value


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    index = start
    while index < len(text):
        if text.startswith("${", index):
            depth += 1
            index += 2
            continue
        if text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return len(text) - 1


def compose_findings(
    documents: Sequence[Any], path: str, env: Mapping[str, str] | None = None, source: SourceText | None = None
) -> Findings:
    """Launches of the services of a compose file, variables from `env` over the `.env` file beside it."""
    findings = Findings()
    for document in documents:
        if not is_compose(document):
            continue
        variables = {**read_env_file(Path(path).parent / ".env", required=False), **(env or {})}
        for name, service in document["services"].items():
            if isinstance(service, dict):
                obj = f"service {name}"
                line = line_of(document["services"], name)
                findings.take(_service(service, path, obj, line, variables, source))
    return findings


def _service(
    service: dict[str, Any],
    path: str,
    obj: str,
    line: int | None,
    variables: Mapping[str, str],
    source: SourceText | None,
) -> ReadLaunches:
    interpolate = Interpolation(variables)
    image = None if service.get("image") is None else interpolate(str(service["image"]))
    entrypoint, entrypoint_origins = _command(service, "entrypoint", path, interpolate, source)
    command, command_origins = _command(service, "command", path, interpolate, source)
    notes: list[str] = []
    env = _environment(service, path, interpolate, notes)
    accelerator = _accelerator(service, interpolate, notes)
    gpus = accelerator.count if accelerator is not None and accelerator.is_nvidia else None
    if image is None and service.get("build") is not None:
        notes.append("the image is built here (`build`): its ENTRYPOINT comes from that Dockerfile, not read here")
    process = container_argv(
        image, entrypoint, command, entrypoint_origins=entrypoint_origins, cmd_origins=command_origins
    )
    unset = "is not set (no value given and none in .env): compose would use ''"
    notes += [f"{raw} {unset}" for raw in interpolate.missing]
    notes += [f"{raw}: not set here, so compose uses the default" for raw in interpolate.defaulted]
    read = read_launches(
        process,
        env,
        file=path,
        line=line,
        object=obj,
        source="compose",
        image=image,
        gpus=gpus,
        notes=notes,
        mentioned=mentions_engine([*(entrypoint or []), *(command or [])], image),
    )
    for launch in read.launches:
        launch.accelerator = accelerator
    return read


def _command(
    service: dict[str, Any], key: str, path: str, interpolate: Interpolation, source: SourceText | None
) -> tuple[list[str] | None, list[Origin | None] | None]:
    value = service.get(key)
    if value is None:
        return None, None
    if isinstance(value, str):
        try:
            tokens = shlex.split(interpolate(value))
        except ValueError as error:
            raise InputError(f"`{key}`: {error}", path=path, line=line_of(service, key), field=key) from None
        origin = None if source is None else source.value_origin(service, key, value)
        return tokens, [origin] * len(tokens)  # split with shell quoting: each token from the string's start
    if isinstance(value, list):
        tokens = [interpolate(str(item)) for item in value]
        origins = None if source is None else [source.item_origin(value, i, str(v)) for i, v in enumerate(value)]
        return tokens, origins
    raise InputError(f"`{key}` must be a string or a list", path=path, line=line_of(service, key), field=key)


def _environment(
    service: dict[str, Any], path: str, interpolate: Interpolation, notes: list[str]
) -> dict[str, EnvValue]:
    env: dict[str, EnvValue] = {}
    env_files = service.get("env_file")
    for entry in [env_files] if isinstance(env_files, str | dict) else env_files or []:
        file_name = entry.get("path") if isinstance(entry, dict) else entry
        required = entry.get("required", True) if isinstance(entry, dict) else True
        env_path = Path(path).parent / interpolate(str(file_name))
        if not env_path.is_file():
            notes.append(f"env_file {file_name} is not there: its variables are unknown here")
            continue
        env.update(read_env_file(env_path, required=bool(required)))
    raw = service.get("environment")
    pairs: list[tuple[str, Any]] = []
    if isinstance(raw, dict):
        pairs = [(str(name), value) for name, value in raw.items()]
    elif isinstance(raw, list):
        for item in raw:
            name, eq, value = str(item).partition("=")
            pairs.append((name, value if eq else None))
    elif raw is not None:
        raise InputError("`environment` must be a mapping or a list", path=path, line=line_of(service, "environment"))
    for name, value in pairs:
        if value is None:
            known = interpolate.variables.get(name)
            env[name] = known if known is not None else Unknown("taken from the shell running docker compose")
            continue
        before = len(interpolate.missing)
        text = interpolate(_text(value))
        missing = interpolate.missing[before:]
        env[name] = Unknown(f"built from {', '.join(missing)}, which is not set") if missing else text
    return env


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _accelerator(service: dict[str, Any], interpolate: Interpolation, notes: list[str]) -> Accelerator | None:
    devices = service.get("devices")
    if isinstance(devices, list) and any(str(device).split(":", 1)[0] == "/dev/kfd" for device in devices):
        return Accelerator("amd", None, "devices /dev/kfd (ROCm)")
    gpus = _gpus(service, interpolate, notes)
    if gpus is not None:
        return Accelerator("nvidia", gpus, "compose device reservation")
    if _asks_for_gpus(service):
        return Accelerator("nvidia", None, "compose device reservation (count all)")
    return None


def _asks_for_gpus(service: dict[str, Any]) -> bool:
    devices = (((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices")
    return service.get("gpus") is not None or (isinstance(devices, list) and bool(devices))


def _gpus(service: dict[str, Any], interpolate: Interpolation, notes: list[str]) -> int | None:
    requests: list[Any] = []
    devices = (((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices")
    if isinstance(devices, list):
        requests += [d for d in devices if isinstance(d, dict) and "gpu" in (d.get("capabilities") or ["gpu"])]
    gpus = service.get("gpus")
    if gpus == "all":
        requests.append({"count": "all"})
    elif isinstance(gpus, list):
        requests += [g for g in gpus if isinstance(g, dict)]
    total: int | None = None
    for request in requests:
        if isinstance(request.get("device_ids"), list):
            count: Any = len(request["device_ids"])
        else:
            count = interpolate(_text(request.get("count", "all")))
        if str(count) == "all":
            notes.append("GPUs: count all (every GPU of the host: the number is not in the file)")
            return None
        try:
            total = (total or 0) + int(str(count))
        except ValueError:
            notes.append(f"GPUs: count {count!r} is not a number")
            return None
    return total


def read_env_file(path: Path, *, required: bool) -> dict[str, str]:
    """A `.env` / `env_file`: `KEY=VALUE` lines, `#` comments, optional `export `, quotes removed."""
    if not path.is_file():
        if required:
            raise InputError("env file not found", path=path)
        return {}
    values: dict[str, str] = {}
    for line in read_text_limited(path, what="env file").splitlines():
        text = line.strip()
        if not text or text.startswith("#") or "=" not in text:
            continue
        name, _, value = text.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[name.strip()] = value
    return values
