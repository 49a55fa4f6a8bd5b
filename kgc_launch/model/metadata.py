"""Read what is known about MODEL, never from the network: `read_model`.

MODEL is, in this order: a local directory holding `config.json` (or the config.json itself), a `.gguf`
file, a Hub repo id found in the Hugging Face cache, a repo id in the shipped catalog. Anything else is an
unknown model: `ModelCapabilities.unknown()` and a note saying where it was looked for. A path that does
not exist, an unreadable or malformed config.json, or a cached repo without the asked revision is an
`InputError` (exit 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from kgc_launch.errors import InputError
from kgc_launch.model.catalog import catalog_entry
from kgc_launch.model.config_json import facts_from_config, load_config_json
from kgc_launch.model.facts import FactsSource, ModelFacts, WeightBytesSource
from kgc_launch.model.gguf import gguf_config, gguf_file_type, read_gguf_metadata
from kgc_launch.model.hf_cache import find_snapshot, hub_cache_dir, looks_like_repo_id, snapshot_of_path
from kgc_launch.model.weights import weights_on_disk
from kgc_launch.records import ModelCapabilities


def read_model(model: str, *, revision: str | None = None, environ: Mapping[str, str]) -> ModelFacts:
    """Facts about `model` from disk or the shipped catalog; `environ` locates the HF cache."""
    path = Path(model).expanduser()
    if path.exists():
        return _read_local(path)
    if _looks_like_path(model):
        raise InputError(
            "no such file or directory",
            path=model,
            hint="MODEL is a directory with config.json, a .gguf file, or a Hub repo id (ORG/NAME)",
        )
    if looks_like_repo_id(model):
        snapshot = find_snapshot(model, revision, environ)
        if snapshot is not None:
            return _read_directory(snapshot.path, source="hf_cache", model_id=model, revision=snapshot.revision)
        entry = catalog_entry(model)
        if entry is not None:
            return _read_catalog(entry.model_id, revision)
    return unknown_model(model, environ)


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or model.endswith((".gguf", ".json")) or model.count("/") > 1


def _read_local(path: Path) -> ModelFacts:
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
    )


def _read_directory(directory: Path, *, source: FactsSource, model_id: str | None, revision: str | None) -> ModelFacts:
    config_path = directory / "config.json"
    # A link that leads nowhere (an HF cache whose blob is gone, a loop) is a config.json that cannot be read.
    if not config_path.is_file() and not config_path.is_symlink():
        raise InputError(
            "no config.json in the model directory",
            path=directory,
            hint="a Hugging Face model directory holds config.json next to its *.safetensors files",
        )
    facts = facts_from_config(
        load_config_json(config_path),
        source=source,
        source_detail=str(directory),
        config_label=str(config_path),
        model_id=model_id,
        revision=revision,
    )
    disk = weights_on_disk(directory)
    if disk is None:
        return facts
    return _with_weights(facts, disk.bytes, disk.source, disk.detail)


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
    notes = [*facts.notes, "not on disk: published numbers from the shipped catalog"]
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


def unknown_model(model: str, environ: Mapping[str, str]) -> ModelFacts:
    """Facts for a model found nowhere: the seed's unknown capabilities and a note saying where we looked."""
    where = hub_cache_dir(environ) if looks_like_repo_id(model) else None
    looked = f"the Hugging Face cache ({where}) and " if where else ""
    return ModelFacts(
        model_id=model if looks_like_repo_id(model) else None,
        source="unknown",
        source_detail="",
        capabilities=ModelCapabilities.unknown(),
        notes=[
            f"{model!r} was not found in {looked}the shipped model catalog; capabilities are unknown. "
            "Download it (huggingface-cli download) or pass a local directory with its config.json."
        ],
        provenance={},
    )
