"""KServe: an InferenceService's predictor `model` runs in the container of a ServingRuntime.

KServe builds the predictor container by merging the ServingRuntime's `kserve-container` with the
InferenceService's `predictor.model` (kserve pkg/controller/.../utils.go, `MergeRuntimeContainers`): a
strategic merge patch (the InferenceService's command, image, env entries by name and resources win),
except `args`, which are the runtime's followed by the InferenceService's. `{{.Name}}` and other
placeholders in the runtime's container are filled from the InferenceService's metadata. The runtime is
the one named by `predictor.model.runtime`, else one with `autoSelect` that supports the model format.

Runtimes and InferenceServices may sit in different files: readers collect both, `resolve` joins them
once every file of a scan is read. A name is per namespace, so several files may each define a runtime of
the same name; the InferenceService takes the nearest (its own file's, then the fewest folders apart).

A multi-node runtime (`spec.workerSpec`: `pipelineParallelSize` nodes of `tensorParallelSize` GPUs each,
kserve docs "Multi-node inference") runs a head pod and `pipelineParallelSize - 1` worker pods; KServe
gives both the `TENSOR_PARALLEL_SIZE` and `PIPELINE_PARALLEL_SIZE` variables from those fields. A worker
that starts an engine process itself (`vllm serve ... --headless`) is a launch of the same group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from kgc_launch.deploy.command import ReadLaunches
from kgc_launch.deploy.config_maps import folders_apart
from kgc_launch.deploy.k8s_container import ContainerSpec, container_launches, read_container, token_origins
from kgc_launch.deploy.launch import EnvValue, Launch, ModelHint, Note, mapping, mentions_engine
from kgc_launch.deploy.model_source import is_hub_id
from kgc_launch.deploy.origin import Origin, SourceText
from kgc_launch.hardware.groups import Group, Role
from kgc_launch.yamlio import line_of

CONTAINER_NAME = "kserve-container"
_PLACEHOLDER = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")


@dataclass
class RuntimeTemplate:
    """A ServingRuntime / ClusterServingRuntime and its containers."""

    kind: str
    name: str
    path: str
    line: int | None
    containers: list[ContainerSpec]
    formats: list[str]
    auto_select: bool
    workers: list[ContainerSpec] = field(default_factory=list)
    """`spec.workerSpec.containers` of a multi-node runtime."""
    group: Group | None = None
    """The head and worker pods of a multi-node runtime (`workerSpec`)."""
    injected: dict[str, EnvValue] = field(default_factory=dict)


@dataclass
class ModelReference:
    """An InferenceService's `predictor.model`: what it adds to the runtime's container."""

    service: str
    metadata: dict[str, str]
    path: str
    line: int | None
    runtime: str | None
    model_format: str | None
    storage_uri: str | None
    overrides: ContainerSpec


def read_serving_runtime(
    document: dict[str, Any], kind: str, name: str, path: str, source: SourceText | None = None
) -> RuntimeTemplate:
    spec = mapping(document.get("spec"))
    listed = spec.get("containers")
    containers: list[Any] = listed if isinstance(listed, list) else []
    formats = [
        str(entry.get("name")).lower()
        for entry in spec.get("supportedModelFormats") or []
        if isinstance(entry, dict) and entry.get("autoSelect", True) is not False
    ]
    runtime = RuntimeTemplate(
        kind=kind,
        name=name,
        path=path,
        line=line_of(document, "spec") or 1,
        containers=[
            read_container(c, path=path, line=line_of(containers, i), source=source) for i, c in enumerate(containers)
        ],
        formats=formats,
        auto_select=bool(formats),
    )
    worker_spec = mapping(spec.get("workerSpec"))
    if worker_spec:
        workers = worker_spec.get("containers")
        listed_workers: list[Any] = workers if isinstance(workers, list) else []
        runtime.workers = [
            read_container(c, path=path, line=line_of(listed_workers, i), source=source)
            for i, c in enumerate(listed_workers)
        ]
        pipeline, tensor = worker_spec.get("pipelineParallelSize", 1), worker_spec.get("tensorParallelSize", 1)
        pipeline = pipeline if isinstance(pipeline, int) and not isinstance(pipeline, bool) else None
        tensor = tensor if isinstance(tensor, int) and not isinstance(tensor, bool) else None
        runtime.group = Group(
            f"KServe workerSpec pipelineParallelSize {pipeline} x tensorParallelSize {tensor}",
            (Role("head", 1, tensor), Role("worker", None if pipeline is None else pipeline - 1, tensor)),
        )
        for variable, value in (("TENSOR_PARALLEL_SIZE", tensor), ("PIPELINE_PARALLEL_SIZE", pipeline)):
            if value is not None:
                runtime.injected[variable] = str(value)
    return runtime


def read_model_reference(
    document: dict[str, Any], name: str, path: str, source: SourceText | None = None
) -> ModelReference | None:
    predictor = mapping(mapping(document.get("spec")).get("predictor"))
    model = predictor.get("model")
    if not isinstance(model, dict):
        return None
    line = line_of(predictor, "model")
    overrides = read_container(model, path=path, line=line, source=source)
    overrides.name = CONTAINER_NAME
    metadata = mapping(document.get("metadata"))
    model_format = mapping(model.get("modelFormat")).get("name")
    return ModelReference(
        service=name,
        metadata={"Name": name, "Namespace": str(metadata.get("namespace", ""))},
        path=path,
        line=line,
        runtime=None if model.get("runtime") is None else str(model["runtime"]),
        model_format=None if model_format is None else str(model_format).lower(),
        storage_uri=None if model.get("storageUri") is None else str(model["storageUri"]),
        overrides=overrides,
    )


def resolve(runtimes: list[RuntimeTemplate], references: list[ModelReference]) -> tuple[list[Launch], list[Note]]:
    """Launches of the InferenceServices whose runtime was found, then of the runtimes none of them uses."""
    launches: list[Launch] = []
    notes: list[Note] = []
    used: set[int] = set()
    users: dict[int, list[str]] = {}
    for reference in references:
        runtime = _runtime_for(reference, runtimes)
        if runtime is None and reference.model_format == "huggingface":
            text = (
                f"InferenceService/{reference.service} (modelFormat huggingface) runs KServe's huggingfaceserver: "
                "engine KServe huggingfaceserver is not checked"
            )
            notes.append(Note(reference.path, reference.line, text))
            continue
        if runtime is None and not _mentions_engine(reference):
            continue  # an sklearn or Triton model, say: not an engine launch, nothing to report
        if runtime is None:
            wanted = reference.runtime or f"an autoSelect runtime for format {reference.model_format or '?'}"
            text = (
                f"InferenceService/{reference.service} runs in {wanted}, which is not among the scanned files: "
                "its launch cannot be read (scan the ServingRuntime too)"
            )
            notes.append(Note(reference.path, reference.line, text, unevaluated=True))
            continue
        used.add(id(runtime))
        users.setdefault(id(runtime), []).append(f"InferenceService/{reference.service} ({reference.path})")
        read = _merged_launches(reference, runtime)
        launches += read.launches
        notes += _notes(reference.path, reference.line, read)
    for runtime in runtimes:
        if id(runtime) in used:
            text = f"{runtime.kind}/{runtime.name} runs {', '.join(users[id(runtime)])}: checked there"
            notes.append(Note(runtime.path, runtime.line, text))
            continue
        for container in [*runtime.containers, *runtime.workers]:
            read = container_launches(
                container,
                path=runtime.path,
                obj=_object(runtime, container),
                base_env=runtime.injected,
                nodes=None if runtime.group is None else runtime.group.pods,
            )
            for launch in read.launches:
                launch.group = runtime.group
                launch.notes.append("a runtime template: each InferenceService using it appends its own args")
                if runtime.group is not None:
                    launch.notes.append(f"one engine over a group of pods: {runtime.group.describe()}")
            launches += read.launches
            notes += _notes(runtime.path, container.line, read)
    return launches, notes


def _notes(path: str, line: int | None, read: ReadLaunches) -> list[Note]:
    return [Note(path, line, text) for text in read.notes] + [
        Note(path, line, text, unevaluated=True) for text in read.unevaluated
    ]


def _mentions_engine(reference: ModelReference) -> bool:
    own = reference.overrides
    words = [reference.runtime or "", reference.model_format or "", *(own.command or []), *(own.args or [])]
    return mentions_engine(words, own.image)


def _runtime_for(reference: ModelReference, runtimes: list[RuntimeTemplate]) -> RuntimeTemplate | None:
    if reference.runtime is not None:
        named = [runtime for runtime in runtimes if runtime.name == reference.runtime]
        # Runtime names are per namespace: several files of a scan may each hold their own runtime of that
        # name (overlays, alternative setups). The nearest one is the InferenceService's; a namespaced
        # ServingRuntime wins over a ClusterServingRuntime of the same name, as in KServe.
        named.sort(key=lambda runtime: (folders_apart(reference.path, runtime.path), runtime.kind != "ServingRuntime"))
        return named[0] if named else None
    candidates = [r for r in runtimes if r.auto_select and reference.model_format in r.formats]
    nearest = min((folders_apart(reference.path, r.path) for r in candidates), default=None)
    closest = [r for r in candidates if folders_apart(reference.path, r.path) == nearest]
    return closest[0] if len(closest) == 1 else None


def _merged_launches(reference: ModelReference, runtime: RuntimeTemplate) -> ReadLaunches:
    base = next(
        (c for c in runtime.containers if c.name == CONTAINER_NAME),
        runtime.containers[0] if runtime.containers else None,
    )
    if base is None:
        return ReadLaunches(unevaluated=[f"{runtime.path}: {runtime.kind}/{runtime.name} has no container"])
    own = reference.overrides
    origins = _merged_origins(reference, runtime, base)
    merged = replace(
        base,
        image=own.image or base.image,
        command=own.command if own.command is not None else base.command,
        args=[*(base.args or []), *(own.args or [])] if base.args is not None or own.args is not None else None,
        env={**base.env, **own.env},
        gpus=own.gpus if own.gpus is not None else base.gpus,
        accelerator=own.accelerator if own.accelerator is not None else base.accelerator,
        line=reference.line,
        notes=[*base.notes, *own.notes],
        env_from=[*base.env_from, *own.env_from],
        command_origins=origins[0],
        args_origins=origins[1],
    )
    merged = _fill_placeholders(merged, reference.metadata)
    obj = f"InferenceService/{reference.service}/{merged.name}"
    read = container_launches(merged, path=reference.path, obj=obj, base_env=runtime.injected)
    for launch in read.launches:
        launch.notes.append(f"runs in {runtime.kind}/{runtime.name} ({runtime.path}:{runtime.line}): its args first")
        _model_from_storage(launch, reference.storage_uri)
    return read


def _merged_origins(
    reference: ModelReference, runtime: RuntimeTemplate, base: ContainerSpec
) -> tuple[list[Origin | None] | None, list[Origin | None] | None]:
    """Where the merged command's and args' words are written. The InferenceService's own command and args
    place the launch; one that adds neither runs the runtime's words, which place it when they are in the
    same file (else the launch stays at the InferenceService's `model:` key: the runtime's words are elsewhere)."""
    own = reference.overrides
    if own.command is None and own.args is None and runtime.path == reference.path:
        return None, None  # mapped from the runtime's lists (`nodes`) by container_launches
    command: list[Origin | None] | None = (
        token_origins(own.nodes[0], own.command, own.nodes[2])
        if own.command is not None
        else [None] * len(base.command or [])
    )
    args = token_origins(own.nodes[1], own.args, own.nodes[2]) or []
    return command, [*([None] * len(base.args or [])), *args]


def _fill_placeholders(spec: ContainerSpec, metadata: dict[str, str]) -> ContainerSpec:
    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: metadata.get(m.group(1), m.group(0)), text)

    def fill_env(value: EnvValue) -> EnvValue:
        return fill(value) if isinstance(value, str) else value

    return replace(
        spec,
        command=None if spec.command is None else [fill(t) for t in spec.command],
        args=None if spec.args is None else [fill(t) for t in spec.args],
        env={name: fill_env(value) for name, value in spec.env.items()},
    )


def _model_from_storage(launch: Launch, storage_uri: str | None) -> None:
    """KServe downloads `storageUri` to /mnt/models; an `hf://org/name` URI says which model that is."""
    if storage_uri is None:
        return
    launch.notes.append(f"the model files come from storageUri {storage_uri} (mounted at /mnt/models)")
    if storage_uri.startswith("hf://"):
        repo = storage_uri.removeprefix("hf://").split(":", 1)[0]
        if is_hub_id(repo):
            launch.model_hints.append(ModelHint(repo, "/mnt/models", f"storageUri {storage_uri}", "operator"))
    if launch.model is None:
        launch.model_why = f"the model is the one at storageUri {storage_uri}"


def _object(runtime: RuntimeTemplate, container: ContainerSpec) -> str:
    return f"{runtime.kind}/{runtime.name}/{container.name}"
