"""Server starts of engines kgc-launch does not check, recognised so that they are named, never taken for vLLM.

A deploy file that starts SGLang, llama.cpp, TGI, Ollama or KServe's huggingfaceserver has an engine launch,
but not one this checker judges: it is said ("engine SGLang is not checked"), and the file's status is 'no
launch' for our engines, not a pass.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

# `python -m MODULE`: module -> engine name.
_MODULES = {
    "sglang.launch_server": "SGLang",
    "sglang.srt.server": "SGLang",
    "huggingfaceserver": "KServe huggingfaceserver",
    "lmdeploy": "LMDeploy",
    "text_generation_server": "TGI",
    "llama_cpp.server": "llama-cpp-python",
    "tensorrt_llm.serve": "TensorRT-LLM",
}
# Executables (by base name) -> engine name, with the subcommand that starts a server where there is one.
_PROGRAMS: dict[str, tuple[str, str | None]] = {
    "sglang": ("SGLang", "serve"),
    "llama-server": ("llama.cpp", None),
    "text-generation-launcher": ("TGI", None),
    "ollama": ("Ollama", "serve"),
    "trtllm-serve": ("TensorRT-LLM", None),
    "tritonserver": ("Triton Inference Server", None),
    "lmdeploy": ("LMDeploy", "serve"),
}
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")


def other_engine(argv: Sequence[str]) -> str | None:
    """The name of the engine `argv` starts when it is one this checker does not judge, else None."""
    if not argv:
        return None
    program = posixpath.basename(argv[0])
    if _PYTHON.match(program):
        for index, token in enumerate(argv[1:-1], start=1):
            if token == "-m":
                return _MODULES.get(argv[index + 1])
            if not token.startswith("-"):
                return None
        return None
    known = _PROGRAMS.get(program)
    if known is None:
        return None
    name, subcommand = known
    if subcommand is not None and subcommand not in argv[1:3]:
        return None
    return name
