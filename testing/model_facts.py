"""Hand-built `ModelFacts` for resolver tests: shapes of well-known models, no files read."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kgc_launch.hardware.inventory import Device, Inventory
from kgc_launch.model.facts import MemoryPlan, ModelFacts
from kgc_launch.records import ModelCapabilities

GIB = 1024**3


def model_facts(**overrides: Any) -> ModelFacts:
    """A Llama-3.1-8B-like model (32 heads, 8 KV heads, head_dim 128, bf16, 128k context) unless overridden."""
    fields: dict[str, Any] = {
        "model_id": "meta-llama/Llama-3.1-8B-Instruct",
        "source": "catalog",
        "source_detail": "test",
        "capabilities": ModelCapabilities.unknown(),
        "num_attention_heads": 32,
        "num_kv_heads": 8,
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "head_dim": 128,
        "vocab_size": 128256,
        "intermediate_size": 14336,
        "max_position_embeddings": 131072,
        "torch_dtype": "bfloat16",
        "quant_method": None,
        "attention": "gqa",
        "kv_lora_rank": None,
        "qk_rope_head_dim": None,
        "kv_cache_layers": 32,
        "sliding_window": None,
        "sliding_window_layers": None,
        "weight_bytes": 16 * GIB,
        "weight_bytes_source": "catalog",
        "notes": [],
    }
    fields.update(overrides)
    return ModelFacts(**fields)


def llama_8b() -> ModelFacts:
    return model_facts()


def llama_70b() -> ModelFacts:
    return model_facts(
        model_id="meta-llama/Llama-3.1-70B-Instruct",
        num_attention_heads=64,
        hidden_size=8192,
        num_hidden_layers=80,
        weight_bytes=141 * GIB,
    )


def fp8_model() -> ModelFacts:
    return model_facts(model_id="neuralmagic/Meta-Llama-3.1-8B-Instruct-FP8", quant_method="fp8", weight_bytes=9 * GIB)


def awq_model() -> ModelFacts:
    return model_facts(
        model_id="hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4",
        quant_method="awq",
        torch_dtype="float16",
        weight_bytes=6 * GIB,
    )


def tiny_head16_model() -> ModelFacts:
    """A tiny random test model (hidden 64, 4 heads of 16): the CPU build cannot attend over it."""
    return model_facts(
        model_id="hf-internal-testing/tiny-random-LlamaForCausalLM",
        num_attention_heads=4,
        num_kv_heads=4,
        hidden_size=64,
        head_dim=16,
        max_position_embeddings=2048,
        torch_dtype="float32",
        weight_bytes=2 * 1024 * 1024,
    )


def unknown_model() -> ModelFacts:
    return ModelFacts(source="unknown", capabilities=ModelCapabilities.unknown())


def memory_plan(*, fits: bool, max_model_len: int = 131072, largest: int | None = None, **overrides: Any) -> MemoryPlan:
    fields: dict[str, Any] = {
        "fits": fits,
        "reason": None,
        "device_memory_bytes": 80 * GIB,
        "gpu_memory_utilization": 0.9,
        "max_model_len": max_model_len,
        "kv_bytes_per_token": 131072,
        "terms": [],
        "kv_cache_bytes": 50 * GIB,
        "kv_capacity_tokens": 409600,
        "max_concurrency": 3.1,
        "largest_fitting_max_model_len": largest,
    }
    fields.update(overrides)
    return MemoryPlan(**fields)


def with_free_memory(inventory: Inventory, free_bytes: int | None) -> Inventory:
    """The same inventory with a live free-memory reading on every visible device."""
    visible = [replace(device, memory_free_bytes=free_bytes) for device in inventory.visible]
    return replace(inventory, visible=visible, devices=visible)


def probed_inventory(devices: list[Device], *, visible: list[Device] | None = None) -> Inventory:
    return Inventory(
        source="nvml",
        source_detail="NVML",
        driver_version=None,
        cuda_driver_version=None,
        nvml_init_ms=None,
        devices=devices,
        visible=devices if visible is None else visible,
        warnings=[],
    )


def no_inventory() -> Inventory:
    return Inventory(
        source="none",
        source_detail="",
        driver_version=None,
        cuda_driver_version=None,
        nvml_init_ms=None,
        devices=[],
        visible=[],
        warnings=[],
    )
