"""GitHub Actions workflows (`jobs.<id>.steps`) and composite actions (`runs.steps` with `using: composite`)
-> the engine launches of their steps' `run:` scripts.

The runner runs each step's `run` as a script of the step's `shell` (GitHub docs, "Workflow syntax",
`jobs.<job_id>.steps[*].shell`): `bash` (`bash --noprofile --norc -eo pipefail {0}`) when not said, else
the job's or workflow's `defaults.run.shell`; a composite action's steps must say it. `pwsh`, `python`,
`cmd` and custom shells are not read. The variables are the workflow's, the job's and the step's `env`;
a `${{ expression }}` is filled in by the runner before the shell reads the script, so it stays visible as
written. A step that `uses:` an action runs that action's code, which is not in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kgc_launch.deploy.command import ContainerArgv, read_launches
from kgc_launch.deploy.findings import Findings
from kgc_launch.deploy.launch import EnvValue, Unknown, mapping
from kgc_launch.deploy.origin import SourceText
from kgc_launch.yamlio import line_of

_SHELLS = frozenset(["bash", "sh"])
_EXPRESSION_NOTE = "`${{ ... }}` is a GitHub Actions expression: the runner fills it in; its value is not in the file"


def is_github_actions(document: Any) -> bool:
    """A workflow (`jobs` whose jobs have `steps`) or a composite action (`runs.using: composite`)."""
    if not isinstance(document, dict) or "apiVersion" in document or "services" in document:
        return False
    jobs = document.get("jobs")
    if isinstance(jobs, dict) and any(
        isinstance(job, dict) and isinstance(job.get("steps"), list) for job in jobs.values()
    ):
        return True
    runs = document.get("runs")
    return isinstance(runs, dict) and str(runs.get("using", "")) == "composite" and isinstance(runs.get("steps"), list)


def github_actions_findings(documents: Sequence[Any], path: str, source: SourceText | None = None) -> Findings:
    findings = Findings()
    for document in documents:
        if not is_github_actions(document):
            continue
        top_env = _env(document.get("env"))
        top_shell = _default_shell(document)
        jobs = document.get("jobs")
        if isinstance(jobs, dict):
            for job_id, job in jobs.items():
                if isinstance(job, dict) and isinstance(job.get("steps"), list):
                    env = {**top_env, **_env(job.get("env"))}
                    shell = _default_shell(job) or top_shell
                    findings.merge(_steps(job["steps"], f"job {job_id}", env, shell, path, source))
        runs = document.get("runs")
        if isinstance(runs, dict) and isinstance(runs.get("steps"), list):
            findings.merge(_steps(runs["steps"], "composite action", top_env, None, path, source))
    return findings


def _steps(
    steps: list[Any], where: str, env: dict[str, EnvValue], shell: str | None, path: str, source: SourceText | None
) -> Findings:
    findings = Findings()
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, dict) or not isinstance(step.get("run"), str):
            continue
        name = str(step.get("name") or step.get("id") or f"step {number}")
        program = str(step.get("shell") or shell or "bash").split()[0]
        if program not in _SHELLS:
            findings.notes.append(f"{where}, step {name!r}: `shell: {program}` is not read (only bash and sh)")
            continue
        script = step["run"]
        origin = None if source is None else source.value_origin(step, "run", script)
        notes = [_EXPRESSION_NOTE] if "${{" in script else []
        read = read_launches(
            ContainerArgv([program, "-c", script], [None, None, origin]),
            {**env, **_env(step.get("env"))},
            file=path,
            line=line_of(step, "run"),
            object=f"GitHub Actions {where}, step {name!r}",
            source="shell",
            image=None,
            gpus=None,
            notes=notes,
            env_is_complete=False,
        )
        findings.take(read)
    return findings


def _default_shell(node: dict[str, Any]) -> str | None:
    run = mapping(mapping(node.get("defaults")).get("run"))
    return None if run.get("shell") is None else str(run["shell"])


def _env(node: Any) -> dict[str, EnvValue]:
    env: dict[str, EnvValue] = {}
    for key, value in mapping(node).items():
        text = "true" if value is True else "false" if value is False else str(value)
        env[str(key)] = Unknown(f"{key} is a GitHub Actions expression ({text})") if "${{" in text else text
    return env
