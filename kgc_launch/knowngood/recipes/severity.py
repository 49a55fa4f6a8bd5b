"""How severe a missing recipe flag is: boot-blocker when the model cannot load or parse without it, else perf.

One row per flag seen in the recipes (canonical name, as `vllm serve` reads it: dashes, no `--`); docs/recipes.md
prints this table (`severity_table_markdown`). A flag that is not here imports as `perf` and the importer lists
it, so that the table can be extended. `SKIPPED` flags are not requirements at all: the recipe site itself
replaces them (the serving strategy owns the parallel sizes) or they only name the deployment.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    severity: str
    """`boot-blocker` or `perf`."""
    why: str
    boot_values: tuple[str, ...] | None = None
    """When given, only these values are boot-blockers (lower-cased); other values of the flag are `perf`."""

    def severity_for(self, value: str | None) -> str:
        if self.boot_values is None or (value is not None and value.strip().lower() in self.boot_values):
            return self.severity
        return "perf"


_LOAD = "the model cannot load without it"
BOOT = "boot-blocker"
PERF = "perf"

FLAGS: dict[str, Rule] = {
    # -- boot-blockers: without them the checkpoint cannot be read or its architecture cannot be built -----
    "trust-remote-code": Rule(BOOT, "the model's (or its processor's) code lives in its Hub repository; without "
                              "it transformers refuses to load the config and vLLM exits at start-up"),
    "tokenizer-mode": Rule(BOOT, "a Mistral-format checkpoint ships only a tekken/mistral tokenizer: without "
                           "`--tokenizer-mode mistral` no tokenizer loads", boot_values=("mistral",)),
    "config-format": Rule(BOOT, "a Mistral-format checkpoint has params.json, no config.json: without "
                          "`--config-format mistral` there is no config to read", boot_values=("mistral",)),
    "load-format": Rule(BOOT, "`mistral`: the weights are consolidated*.safetensors in Mistral's layout, which "
                        "the default loader does not read; other values (`fastsafetensors`) only load faster",
                        boot_values=("mistral",)),
    "hf-overrides": Rule(BOOT, "the checkpoint's config.json needs these fields changed for vLLM to build the "
                         "architecture"),
    "omni": Rule(BOOT, "the model is a vllm-omni pipeline (diffusion, audio, any-to-any): without `--omni` "
                 "`vllm serve` tries to load it as a plain LLM and fails"),
    "deploy-config": Rule(BOOT, "names the vllm-omni stage layout of this model; without it the pipeline's "
                          "stages are not built"),
    # -- perf: the model loads without them; the recipe's settings for speed, memory or output -------------
    "additional-config": Rule(PERF, "platform plugin settings (e.g. CPU binding) the recipe tuned"),
    "allowed-local-media-path": Rule(PERF, "lets requests read local media files; the server starts without it"),
    "async-scheduling": Rule(PERF, "overlaps scheduling with the forward pass (throughput)"),
    "attention-backend": Rule(PERF, "the attention kernel the recipe measured or found stable on this hardware"),
    "attention-config": Rule(PERF, "attention kernel settings (FP8/FP4 indexer cache, TRT-LLM attention)"),
    "block-size": Rule(PERF, "KV-cache block size the recipe's kernels were tuned for"),
    "cfg-parallel-size": Rule(PERF, "vllm-omni classifier-free-guidance parallelism (a multi-GPU layout)"),
    "chat-template-content-format": Rule(PERF, "how message content reaches the chat template (tool and "
                                         "multimodal messages); the server starts without it"),
    "compilation-config": Rule(PERF, "CUDA-graph / torch.compile settings (e.g. PIECEWISE graphs)"),
    "cpu-offload-gb": Rule(PERF, "offloads weights to CPU memory to fit small GPUs (the memory plan decides)"),
    "default-chat-template-kwargs": Rule(PERF, "default chat-template switches (thinking, reasoning effort)"),
    "diffusion-attention-backend": Rule(PERF, "vllm-omni diffusion attention kernel for this GPU"),
    "diffusion-config": Rule(PERF, "vllm-omni diffusion settings"),
    "disable-cascade-attn": Rule(PERF, "avoids cascade attention for this model's kernels"),
    "disable-custom-all-reduce": Rule(PERF, "NCCL instead of the custom all-reduce on this hardware"),
    "distributed-executor-backend": Rule(PERF, "multiprocessing instead of Ray for the workers"),
    "dlo-no-use-allgather": Rule(PERF, "distributed layer-wise offload setting (small-GPU layout)"),
    "dlo-resident-layers": Rule(PERF, "distributed layer-wise offload setting (small-GPU layout)"),
    "dtype": Rule(PERF, "the activation dtype the recipe serves with"),
    "enable-auto-tool-choice": Rule(PERF, "tool calling (a feature the recipe turns on for this hardware)"),
    "enable-chunked-prefill": Rule(PERF, "chunked prefill (latency under load)"),
    "enable-distributed-layerwise-offload": Rule(PERF, "offloads layers to fit small GPUs (the memory plan "
                                                 "decides)"),
    "enable-expert-parallel": Rule(PERF, "expert parallelism for the MoE layers (a multi-GPU layout)"),
    "enable-flashinfer-autotune": Rule(PERF, "FlashInfer kernel autotuning at start-up"),
    "enable-prefix-caching": Rule(PERF, "prefix caching"),
    "enforce-eager": Rule(PERF, "no CUDA graphs; the recipe's workaround on this hardware (start-up or memory)"),
    "generation-config": Rule(PERF, "sampling defaults from vLLM instead of the checkpoint's generation_config"),
    "gpu-memory-utilization": Rule(PERF, "the share of GPU memory the recipe gives vLLM (the memory plan decides)"),
    "hsdp-shard-size": Rule(PERF, "vllm-omni HSDP sharding (a multi-GPU layout)"),
    "ignored-layers": Rule(PERF, "layers left unquantized by on-the-fly quantization"),
    "init-timeout": Rule(PERF, "longer start-up timeout for a large pipeline"),
    "kernel-config": Rule(PERF, "kernel settings (FlashInfer autotune)"),
    "kv-cache-dtype": Rule(PERF, "KV-cache dtype (memory and speed)"),
    "language-model-only": Rule(PERF, "serves the text part only (skips the vision encoder)"),
    "limit-mm-per-prompt": Rule(PERF, "caps images/videos per prompt (memory)"),
    "linear-backend": Rule(PERF, "the linear-layer kernel for this hardware"),
    "logits-processors": Rule(PERF, "the model's n-gram repetition processor (output quality, OCR); the server "
                              "starts without it"),
    "mamba-backend": Rule(PERF, "the Mamba kernel the recipe uses"),
    "mamba-cache-mode": Rule(PERF, "Mamba cache layout"),
    "mamba-ssm-cache-dtype": Rule(PERF, "Mamba state dtype (accuracy)"),
    "mamba-ssu-algorithm": Rule(PERF, "Mamba state-update kernel"),
    "max-cudagraph-capture-size": Rule(PERF, "largest batch captured in a CUDA graph (memory)"),
    "max-model-len": Rule(PERF, "the context length the recipe serves (the memory plan decides what fits)"),
    "max-num-batched-tokens": Rule(PERF, "scheduler token budget"),
    "max-num-seqs": Rule(PERF, "scheduler sequence budget"),
    "media-io-kwargs": Rule(PERF, "video frame sampling"),
    "mm-encoder-attn-backend": Rule(PERF, "vision-encoder attention kernel"),
    "mm-encoder-tp-mode": Rule(PERF, "data-parallel vision encoder"),
    "mm-processor-cache-gb": Rule(PERF, "multimodal processor cache size (memory)"),
    "mm-processor-cache-type": Rule(PERF, "multimodal processor cache kind"),
    "moe-backend": Rule(PERF, "the MoE kernel for this hardware and precision"),
    "num-gpus": Rule(PERF, "vllm-omni GPU count (a multi-GPU layout)"),
    "override-generation-config": Rule(PERF, "generation defaults"),
    "quantization": Rule(PERF, "the quantization method (on-the-fly, or made explicit)"),
    "reasoning-parser": Rule(PERF, "reasoning output parsing"),
    "ring": Rule(PERF, "vllm-omni ring attention degree (a multi-GPU layout)"),
    "runner": Rule(PERF, "the runner (e.g. `pooling` for embeddings); the server starts without it"),
    "stage-init-timeout": Rule(PERF, "longer start-up timeout for a vllm-omni stage"),
    "text-encoder-tp-size": Rule(PERF, "vllm-omni text-encoder parallelism (a multi-GPU layout)"),
    "tool-call-parser": Rule(PERF, "tool-call parsing"),
    "ulysses-degree": Rule(PERF, "vllm-omni Ulysses sequence parallelism (a multi-GPU layout)"),
    "use-hsdp": Rule(PERF, "vllm-omni HSDP (a multi-GPU layout)"),
    "usp": Rule(PERF, "vllm-omni unified sequence parallelism (a multi-GPU layout)"),
    "vae-parallel-mode": Rule(PERF, "vllm-omni VAE parallelism"),
    "vae-patch-parallel-size": Rule(PERF, "vllm-omni VAE patch parallelism (a multi-GPU layout)"),
    "vae-use-tiling": Rule(PERF, "vllm-omni VAE tiling (memory)"),
    "video-pruning-rate": Rule(PERF, "video token pruning"),
    "speculative-config": Rule(PERF, "speculative decoding"),
}  # fmt: skip

SKIPPED: dict[str, str] = {
    "tensor-parallel-size": "the serving strategy sets it (the recipe site replaces a recipe's own), and "
    "kgc-launch's resolver checks it against the GPUs",
    "data-parallel-size": "the serving strategy sets it",
    "pipeline-parallel-size": "the serving strategy sets it",
    "host": "where the server listens is the deployment's choice",
    "port": "where the server listens is the deployment's choice",
    "served-model-name": "the API's model name is the deployment's choice (and changes the id a launch is checked by)",
}
"""Flags the importer does not turn into requirements, and why."""

ENV_RULE = Rule(PERF, "an environment setting the recipe uses (kernels, timeouts, platform tuning); the model "
                "loads without it")  # fmt: skip
"""Every environment variable of a recipe imports as `perf`: none of those seen is needed to load a model."""


def rule_for(name: str) -> tuple[Rule, bool]:
    """The rule for a canonical flag name (dotted forms by their head), and whether the table knows it."""
    head = name.partition(".")[0]
    rule = FLAGS.get(head)
    if rule is None:
        return Rule(PERF, "recommended by the recipe (not in kgc-launch's severity table: perf by default)"), False
    return rule, True


def severity_table_markdown() -> str:
    """The table docs/recipes.md shows: every flag seen in the recipes, its severity and why."""
    lines = ["| flag | severity | why |", "| --- | --- | --- |"]
    for name in sorted(FLAGS, key=lambda n: (FLAGS[n].severity != BOOT, n)):
        rule = FLAGS[name]
        severity = rule.severity if rule.boot_values is None else f"{rule.severity} ({', '.join(rule.boot_values)})"
        lines.append(f"| `--{name}` | {severity} | {rule.why} |")
    for name in sorted(SKIPPED):
        lines.append(f"| `--{name}` | not imported | {SKIPPED[name]} |")
    lines.append(f"| any environment variable | {ENV_RULE.severity} | {ENV_RULE.why} |")
    return "\n".join(lines) + "\n"
