"""Read what is known about MODEL: `read_model`.

MODEL is, in this order: a local directory holding `config.json` (or the config.json itself), a `.gguf`
file, a Hub repo id found in the Hugging Face cache, a repo id fetched from the Hub (only when the caller
passes `hub=True` and the environment allows it: `model/hub.py`), a repo id in the shipped catalog.
Anything else is an unknown model: `source == "unknown"`, `ModelCapabilities.unknown()` (the seed's record,
whose placeholder values are not facts: no provenance backs them) and `notes[0]` saying why
(`unknown model 'ORG/NAME': ...`, naming where it was looked for and what the Hub answered). A path that
does not exist, an unreadable or malformed config.json, or a cached repo without the asked revision (when
the Hub may not be asked) is an `InputError` (exit 3).

`hf_config_path` is vLLM's `--hf-config-path`: config.json is read from there (a directory, a file or a
repo id, found the same way), the weights from MODEL.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgc_launch.errors import InputError
from kgc_launch.model.catalog import catalog_entry
from kgc_launch.model.config_json import facts_from_config, load_config_json
from kgc_launch.model.facts import FactsSource, ModelFacts, WeightBytesSource
from kgc_launch.model.gguf import gguf_config, gguf_file_type, read_gguf_metadata
from kgc_launch.model.hf_cache import find_snapshot, hub_cache_dir, looks_like_repo_id, snapshot_of_path
from kgc_launch.model.weights import weights_on_disk
from kgc_launch.records import ModelCapabilities

if TYPE_CHECKING:
    from kgc_launch.model.hub import HubModel

GENERATION_CONFIG = "generation_config.json"
# generation_config.json fields vLLM applies as default sampling parameters (`--generation-config auto`,
# vllm/config/model.py get_diff_sampling_param).
_SAMPLING_FIELDS = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_new_tokens")


def read_model(
    model: str,
    *,
    revision: str | None = None,
    environ: Mapping[str, str],
    hub: bool = False,
    hf_config_path: str | None = None,
) -> ModelFacts:
    """Facts about `model` from disk, the HF cache, the Hub (`hub=True`) or the shipped catalog.

    `environ` locates the HF cache and carries the Hub settings (`HF_ENDPOINT`, `HF_TOKEN`, `KGC_NO_HUB`,
    `HF_HUB_OFFLINE`, `KGC_HUB_TIMEOUT`). Without `hub=True` nothing touches the network.
    """
    facts = _read_model(model, revision, environ, hub)
    if hf_config_path is None or hf_config_path == model:
        return facts
    config_facts = _read_model(hf_config_path, revision, environ, hub)
    if config_facts.source == "unknown":
        why = config_facts.notes[0] if config_facts.notes else "unknown"
        return unknown_model(model, environ, reason=f"--hf-config-path {hf_config_path}: {why}")
    return _config_with_weights_of(config_facts, facts, hf_config_path)


def _read_model(model: str, revision: str | None, environ: Mapping[str, str], hub: bool) -> ModelFacts:
    path = Path(model).expanduser()
    if path.exists():
        return _read_local(path, environ)
    if _looks_like_path(model):
        raise InputError(
            "no such file or directory",
            path=model,
            hint="MODEL is a directory with config.json, a .gguf file, or a Hub repo id (ORG/NAME)",
        )
    if not looks_like_repo_id(model):
        return unknown_model(model, environ)
    not_cached: InputError | None = None
    try:
        snapshot = find_snapshot(model, revision, environ)
    except InputError as cached_elsewhere:
        if not _hub_allowed(hub, environ):
            raise
        snapshot, not_cached = None, cached_elsewhere  # in the cache at other revisions: the Hub may have it
    if snapshot is not None:
        return _read_directory(
            snapshot.path, source="hf_cache", model_id=model, revision=snapshot.revision, environ=environ
        )
    hub_said: str | None = None  # what the Hub answered, as a clause of the explanation
    if hub:
        from kgc_launch.model.hub import HubError, fetch_model

        try:
            return _read_hub(fetch_model(model, revision=revision, environ=environ))
        except HubError as error:
            asked = error.kind not in ("disabled", "offline", "no_client")
            hub_said = f"the Hub: {error.reason}" if asked else f"the Hub was not asked ({error.reason})"
        if not_cached is not None:
            raise InputError(not_cached.message, path=not_cached.path, hint=f"{not_cached.hint}; {hub_said}")
    entry = catalog_entry(model)
    if entry is not None:
        facts = _read_catalog(entry.model_id, revision)
        if hub_said is not None:
            facts.notes.append(hub_said)
        return facts
    return unknown_model(model, environ, hub_said=hub_said)


def _hub_allowed(hub: bool, environ: Mapping[str, str]) -> bool:
    if not hub:
        return False
    from kgc_launch.model.hub import hub_blocked

    return hub_blocked(environ) is None


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or model.endswith((".gguf", ".json")) or model.count("/") > 1


def _read_local(path: Path, environ: Mapping[str, str]) -> ModelFacts:
    if path.is_file() and path.suffix == ".gguf":
        return _read_gguf(path)
    if path.is_file() and path.name == "config.json":
        path = path.parent
    if not path.is_dir():
        raise InputError("not a model directory or .gguf file", path=path)
    snapshot = snapshot_of_path(path)
    return _read_directory(
        path,
        source="directory",
        model_id=snapshot.repo_id if snapshot else None,
        revision=snapshot.revision if snapshot else None,
        environ=environ,
    )


def _read_directory(
    directory: Path,
    *,
    source: FactsSource,
    model_id: str | None,
    revision: str | None,
    environ: Mapping[str, str],
) -> ModelFacts:
    config_path = directory / "config.json"
    # A link that leads nowhere (an HF cache whose blob is gone, a loop) is a config.json that cannot be read.
    if not config_path.is_file() and not config_path.is_symlink():
        raise InputError(
            "no config.json in the model directory",
            path=directory,
            hint="a Hugging Face model directory holds config.json next to its *.safetensors files",
        )
    facts = replace(
        facts_from_config(
            load_config_json(config_path),
            source=source,
            source_detail=str(directory),
            config_label=str(config_path),
            model_id=model_id,
            revision=revision,
        ),
        json_files=_json_files(directory),
    )
    generation = _read_json_object(directory / GENERATION_CONFIG)
    if generation is not None:
        _note_generation_config(facts, generation, str(directory / GENERATION_CONFIG))
    disk = weights_on_disk(directory)
    recorded = None
    if source == "hf_cache" and model_id is not None and revision is not None:
        from kgc_launch.model.hub import recorded_weights  # imports no huggingface_hub

        recorded = recorded_weights(environ, model_id, revision)
        if recorded is not None and recorded.dtypes:
            _note_dtypes(facts, recorded.dtypes, recorded.dtypes_detail)
    if disk is not None:
        return _with_weights(facts, disk.bytes, disk.source, disk.detail)
    if recorded is not None:  # a single-file checkpoint fetched by kgc-launch: its header's totals
        return _with_weights(facts, recorded.bytes, recorded.source, f"{recorded.detail} (recorded when fetched)")
    return facts


def _json_files(directory: Path) -> tuple[str, ...] | None:
    try:
        return tuple(sorted(entry.name for entry in os.scandir(directory) if entry.name.endswith(".json")))
    except OSError:
        return None


def _read_hub(fetched: HubModel) -> ModelFacts:
    facts = facts_from_config(
        fetched.config,
        source="hub",
        source_detail=f"{fetched.endpoint}/{fetched.repo_id}",
        config_label=f"{fetched.label}: config.json",
        model_id=fetched.repo_id,
        revision=fetched.commit,
    )
    facts.notes.extend(fetched.notes)
    if fetched.generation_config is not None:
        _note_generation_config(facts, fetched.generation_config, f"{fetched.label}: {GENERATION_CONFIG}")
    if fetched.weights is None:
        return facts
    if fetched.weights.dtypes:
        _note_dtypes(facts, fetched.weights.dtypes, fetched.weights.dtypes_detail)
    return _with_weights(facts, fetched.weights.bytes, fetched.weights.source, fetched.weights.detail)


def _read_json_object(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None  # optional: absent or unreadable, nothing is derived from it
    return document if isinstance(document, dict) else None


def _note_generation_config(facts: ModelFacts, generation: Mapping[str, Any], label: str) -> None:
    """The sampling defaults vLLM takes from generation_config.json unless `--generation-config vllm`."""
    chosen = {name: generation[name] for name in _SAMPLING_FIELDS if generation.get(name) is not None}
    if not chosen:
        return
    values = ", ".join(f"{name}={value}" for name, value in chosen.items())
    facts.notes.append(f"default sampling from {label}: {values} (vLLM applies them unless --generation-config vllm)")
    facts.provenance["generation_config"] = label


def _note_dtypes(facts: ModelFacts, dtypes: Mapping[str, int], detail: str) -> None:
    from kgc_launch.model.hub import dtypes_text

    facts.notes.append(f"weights by dtype (parameters): {dtypes_text(dtypes)}")
    facts.provenance["weight_dtypes"] = detail


def _config_with_weights_of(config_facts: ModelFacts, model_facts: ModelFacts, hf_config_path: str) -> ModelFacts:
    """vLLM `--hf-config-path`: the architecture from that config, the weights as measured for the model."""
    notes = [*config_facts.notes, f"config.json from --hf-config-path {hf_config_path}; weights from the model"]
    facts = replace(
        config_facts,
        model_id=model_facts.model_id or config_facts.model_id,
        notes=notes,
        provenance=dict(config_facts.provenance),
    )
    measured = model_facts.weight_bytes_source not in ("estimate", "unknown")
    if model_facts.source != "unknown" and measured and model_facts.weight_bytes is not None:
        detail = model_facts.provenance.get("weight_bytes", model_facts.source_detail)
        return _with_weights(facts, model_facts.weight_bytes, model_facts.weight_bytes_source, detail)
    return facts


def _with_weights(facts: ModelFacts, weight_bytes: int, source: WeightBytesSource, detail: str) -> ModelFacts:
    capabilities = replace(facts.capabilities, estimated_weight_bytes=weight_bytes)
    provenance = {**facts.provenance, "weight_bytes": detail}
    return replace(
        facts,
        capabilities=capabilities,
        weight_bytes=weight_bytes,
        weight_bytes_source=source,
        provenance=provenance,
    )


def _read_catalog(model_id: str, revision: str | None) -> ModelFacts:
    entry = catalog_entry(model_id)
    assert entry is not None  # checked by the caller
    facts = facts_from_config(
        entry.config,
        source="catalog",
        source_detail=entry.source,
        config_label="catalog config.json",
        model_id=entry.model_id,
    )
    recorded = f" (recorded on {entry.recorded_on} from {entry.recorded_from})" if entry.recorded_on else ""
    notes = [*facts.notes, f"not on disk: published numbers from the shipped catalog{recorded}"]
    if revision is not None:
        notes.append(f"revision {revision!r} is not in the HF cache; the catalog describes the main branch")
    facts = replace(facts, notes=notes)
    if entry.weight_bytes is None:
        return facts
    return _with_weights(facts, entry.weight_bytes, "catalog", entry.weight_bytes_source)


def _read_gguf(path: Path) -> ModelFacts:
    metadata = read_gguf_metadata(path)
    config = gguf_config(metadata)
    facts = facts_from_config(config, source="directory", source_detail=str(path), config_label=f"{path} (GGUF header)")
    file_type = gguf_file_type(metadata)
    capabilities = replace(facts.capabilities, quantization=file_type)
    facts = replace(
        facts,
        capabilities=capabilities,
        notes=[*facts.notes, "read from the GGUF header; weights are the file's size"],
        model_id=name if isinstance(name := metadata.get("general.name"), str) else None,
    )
    return _with_weights(facts, path.stat().st_size, "gguf", f"{path}: file size")


def unknown_model(
    model: str, environ: Mapping[str, str], *, hub_said: str | None = None, reason: str | None = None
) -> ModelFacts:
    """Facts for a model found nowhere: the seed's unknown capabilities and `notes[0]` saying why.

    `hub_said` is what the Hub answered (or why it was not asked); `reason` replaces the whole explanation.
    """
    if reason is None:
        reason = _where_looked(model, environ, hub_said)
    return ModelFacts(
        model_id=model if looks_like_repo_id(model) else None,
        source="unknown",
        source_detail="",
        capabilities=ModelCapabilities.unknown(),
        notes=[f"unknown model {model!r}: {reason}"],
        provenance={},
    )


def _where_looked(model: str, environ: Mapping[str, str], hub_said: str | None) -> str:
    if not looks_like_repo_id(model):
        return "not a local path, and not a Hub repo id (ORG/NAME)"
    if hub_said is None:
        from kgc_launch.model.hub import hub_blocked

        hub_said = f"the Hub was not asked ({hub_blocked(environ) or 'this reader is offline'})"
    return (
        f"not found in the Hugging Face cache ({hub_cache_dir(environ)}) nor in the shipped model catalog; "
        f"{hub_said}. Download it (hf download {model}) or pass a local directory with its config.json."
    )
