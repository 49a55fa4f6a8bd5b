"""`docker run` / `podman run` command lines (in shell scripts) -> the container's argv, env and GPUs.

`docker [container] run [OPTIONS] IMAGE [ARG...]`: `--entrypoint X` replaces the image's ENTRYPOINT (and
drops its CMD), the ARGs replace CMD; `-e K=V` / `--env K=V` set variables (`-e K` copies K from the
calling shell); `--gpus all|N|device=0,1` gives NVIDIA GPUs, `--device /dev/kfd` AMD GPUs (ROCm).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kgc_launch.deploy.accelerators import Accelerator
from kgc_launch.deploy.launch import EnvValue, Unknown

_CLIENTS = frozenset(["docker", "podman", "nvidia-docker"])
# Options of `docker run` that take a value (docker 27); the others are flags.
_VALUE_OPTIONS = frozenset(
    [
        "--add-host",
        "--annotation",
        "-a",
        "--attach",
        "--blkio-weight",
        "--blkio-weight-device",
        "--cap-add",
        "--cap-drop",
        "--cgroup-parent",
        "--cgroupns",
        "--cidfile",
        "--cpu-period",
        "--cpu-quota",
        "--cpu-rt-period",
        "--cpu-rt-runtime",
        "-c",
        "--cpu-shares",
        "--cpus",
        "--cpuset-cpus",
        "--cpuset-mems",
        "--detach-keys",
        "--device",
        "--device-cgroup-rule",
        "--device-read-bps",
        "--device-read-iops",
        "--device-write-bps",
        "--device-write-iops",
        "--dns",
        "--dns-option",
        "--dns-search",
        "--domainname",
        "--entrypoint",
        "-e",
        "--env",
        "--env-file",
        "--expose",
        "--gpus",
        "--group-add",
        "--health-cmd",
        "--health-interval",
        "--health-retries",
        "--health-start-interval",
        "--health-start-period",
        "--health-timeout",
        "-h",
        "--hostname",
        "--ip",
        "--ip6",
        "--ipc",
        "--isolation",
        "--kernel-memory",
        "-l",
        "--label",
        "--label-file",
        "--link",
        "--link-local-ip",
        "--log-driver",
        "--log-opt",
        "--mac-address",
        "-m",
        "--memory",
        "--memory-reservation",
        "--memory-swap",
        "--memory-swappiness",
        "--mount",
        "--name",
        "--network",
        "--net",
        "--network-alias",
        "--oom-score-adj",
        "--pid",
        "--pids-limit",
        "--platform",
        "-p",
        "--publish",
        "--pull",
        "--restart",
        "--runtime",
        "--security-opt",
        "--shm-size",
        "--stop-signal",
        "--stop-timeout",
        "--storage-opt",
        "--sysctl",
        "--tmpfs",
        "--ulimit",
        "-u",
        "--user",
        "--userns",
        "--uts",
        "-v",
        "--volume",
        "--volume-driver",
        "--volumes-from",
        "-w",
        "--workdir",
    ]
)
_SHORT_VALUE = frozenset("acehlmpuvw")


@dataclass
class DockerRun:
    image: str
    entrypoint: list[str] | None
    args: list[str]
    env: dict[str, EnvValue] = field(default_factory=dict)
    gpus: int | None = None
    notes: list[str] = field(default_factory=list)
    accelerator: Accelerator | None = None


def parse_docker_run(argv: Sequence[str], shell_env: Mapping[str, EnvValue]) -> DockerRun | None:
    """The `docker run` in an argv, or None when the argv is not one."""
    if not argv or posixpath.basename(argv[0]) not in _CLIENTS:
        return None
    index = 1
    if argv[index : index + 2] == ["container", "run"]:
        index += 1
    if argv[index : index + 1] not in (["run"], ["create"]):
        return None
    index += 1
    run = DockerRun(image="", entrypoint=None, args=[])
    while index < len(argv):
        token = argv[index]
        if token == "--":
            index += 1
            break
        if not token.startswith("-") or token == "-":
            break
        name, eq, value = token.partition("=")
        if name in _VALUE_OPTIONS and not eq:
            value = argv[index + 1] if index + 1 < len(argv) else ""
            index += 1
        elif len(token) > 2 and token[1] in _SHORT_VALUE and token[1] != "-" and not eq:
            name, value = token[:2], token[2:]  # `-eKEY=value`, `-p8000:8000`
        _option(run, name, value, shell_env)
        index += 1
    if index >= len(argv):
        return None
    run.image = argv[index]
    run.args = list(argv[index + 1 :])
    return run


def _option(run: DockerRun, name: str, value: str, shell_env: Mapping[str, EnvValue]) -> None:
    if name == "--entrypoint":
        run.entrypoint = [value] if value else []
    elif name in ("-e", "--env"):
        key, eq, text = value.partition("=")
        known = shell_env.get(key)
        run.env[key] = text if eq else known if known is not None else Unknown("copied from the calling shell")
    elif name == "--env-file":
        run.notes.append(f"--env-file {value}: its variables are not read here")
    elif name == "--gpus":
        run.gpus = _gpus(value, run.notes)
        run.accelerator = Accelerator("nvidia", run.gpus, f"--gpus {value}")
    elif name == "--device" and value.split(":", 1)[0] == "/dev/kfd" and run.accelerator is None:
        run.accelerator = Accelerator("amd", None, "--device /dev/kfd (ROCm)")


def _gpus(value: str, notes: list[str]) -> int | None:
    text = value.strip("\"'")
    if text == "all":
        notes.append("--gpus all: every GPU of the host (the number is not in the command)")
        return None
    if text.startswith("device="):
        return len([d for d in text.removeprefix("device=").split(",") if d])
    if text.startswith("count="):
        text = text.removeprefix("count=")
    try:
        return int(text)
    except ValueError:
        notes.append(f"--gpus {value}: not read as a number of GPUs")
        return None
