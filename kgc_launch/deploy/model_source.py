"""Which model a launch serves when its command names a path inside the container (`vllm serve /models/llama`).

A deploy file often fills that path itself, or names the model elsewhere; each is read as what it is:
- a download step into the directory (an init container or an earlier command of the same script):
  `huggingface-cli download ORG/NAME --local-dir DIR`, `hf download ORG/NAME --local-dir DIR`;
- an operator's own field: KServe `storageUri: hf://ORG/NAME`, `LLMInferenceService.spec.model.uri`,
  KubeAI `Model.spec.url: hf://ORG/NAME` (read by those readers);
- an annotation on the object, `kgc-launch.io/model: ORG/NAME` (the file's own statement);
- `--model-map PATH=ORG/NAME` given to the check (the user's statement);
- `--served-model-name`, only when it is a Hub id (`ORG/NAME`): a served name is often a short alias.

The choice (`choose_model`) says which one was used; the first that applies wins: `--model`, the
annotation, a Hub id on the command line, `--model-map`, a download into the served path, an operator's
field, `--served-model-name`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kgc_launch.deploy.launch import Launch, ModelHint

ANNOTATION = "kgc-launch.io/model"
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_DOWNLOADERS = {"huggingface-cli": ["download"], "hf": ["download"]}
_DOWNLOAD_VALUE_OPTIONS = frozenset(
    ["--repo-type", "--revision", "--include", "--exclude", "--cache-dir", "--token", "--max-workers", "--local-dir"]
)


@dataclass(frozen=True)
class ModelChoice:
    model: str | None
    source: str | None
    """Which statement gave the model (None: the command line itself)."""
    why: str | None = None
    """Why there is no model, when `model` is None."""


def is_hub_id(text: str | None) -> bool:
    return bool(text) and _HUB_ID.match(text or "") is not None and not (text or "").startswith(("/", "."))


def download_hint(argv: Sequence[str], where: str) -> ModelHint | None:
    """`huggingface-cli download ORG/NAME [FILES] --local-dir DIR` (or `hf download`): the model it puts in DIR."""
    if not argv:
        return None
    program = posixpath.basename(argv[0])
    words = list(argv[1:])
    if program in ("python", "python3") and words[:2] == ["-m", "huggingface_hub.commands.huggingface_cli"]:
        program, words = "huggingface-cli", words[2:]
    if program not in _DOWNLOADERS or words[:1] != _DOWNLOADERS[program]:
        return None
    repo: str | None = None
    local_dir: str | None = None
    index = 1
    while index < len(words):
        word = words[index]
        name, eq, value = word.partition("=")
        if name == "--local-dir":
            local_dir = value if eq else (words[index + 1] if index + 1 < len(words) else None)
            index += 1 if eq else 2
            continue
        if name in _DOWNLOAD_VALUE_OPTIONS:
            index += 1 if eq else 2
            continue
        if not word.startswith("-") and repo is None:
            repo = word
        index += 1
    if repo is None or not is_hub_id(repo) or "$" in repo:
        return None
    return ModelHint(
        repo, local_dir, f"{where}: {program} download {repo}" + (f" --local-dir {local_dir}" if local_dir else "")
    )


def annotation_hint(metadata: Mapping[str, object] | None, where: str) -> ModelHint | None:
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    value = annotations.get(ANNOTATION) if isinstance(annotations, Mapping) else None
    if not isinstance(value, str) or not value.strip():
        return None
    return ModelHint(value.strip(), None, f"annotation {ANNOTATION} ({where})", "annotation")


def _fills(hint: ModelHint, path: str) -> bool:
    if hint.path is None:
        return False
    base = posixpath.normpath(hint.path)
    target = posixpath.normpath(path)
    return target == base or target.startswith(base + "/")


def choose_model(launch: Launch, override: str | None, model_map: Mapping[str, str]) -> ModelChoice:
    """The model to check the launch as, and which statement gave it (see the module docstring)."""
    if override:
        return ModelChoice(override, "--model")
    for hint in launch.model_hints:
        if hint.kind == "annotation":
            return ModelChoice(hint.model, hint.source)
    model = launch.model
    if model is not None and (is_hub_id(model) or not _looks_like_path(model)):
        return ModelChoice(model, launch.model_source)
    if model is not None:
        mapped = _mapped(model, model_map)
        if mapped is not None:
            return ModelChoice(mapped[1], f"--model-map {mapped[0]}={mapped[1]}")
        for hint in launch.model_hints:
            if hint.kind == "download" and _fills(hint, model):
                return ModelChoice(hint.model, hint.source)
    for hint in launch.model_hints:
        if hint.kind == "operator":
            return ModelChoice(hint.model, hint.source)
    served = _served_names(launch)
    hub = next((name for name in served if is_hub_id(name)), None)
    if hub is not None:
        return ModelChoice(hub, "--served-model-name (a Hub id)")
    if model is not None:
        return ModelChoice(model, launch.model_source)
    return ModelChoice(None, None, launch.model_why)


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or "$" in model


def _mapped(model: str, model_map: Mapping[str, str]) -> tuple[str, str] | None:
    target = posixpath.normpath(model)
    for path, repo in sorted(model_map.items(), key=lambda item: -len(item[0])):
        base = posixpath.normpath(path)
        if target == base or target.startswith(base + "/"):
            return path, repo
    return None


def _served_names(launch: Launch) -> list[str]:
    if launch.engine != "vllm":
        return []
    names = launch.serve_args().get("served-model-name")
    return names if isinstance(names, list) else [names] if isinstance(names, str) else []
