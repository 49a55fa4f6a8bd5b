"""e2e: a model fetched from a Hub stand-in has the facts vLLM itself loads (issue: know every model).

Run by scripts/e2e with the project's Python (it has kgc-launch and the test stand-ins); the e2e venv's
Python (real vLLM) is passed as --vllm-python. Steps:
1. serve the tiny e2e model on a local Hugging Face Hub stand-in (testing/hub_server.py, 127.0.0.1): its
   real config.json, and a model.safetensors whose header is the real file's (the tensor bytes are virtual:
   nothing downloads weights, and the stand-in refuses a weight download without a byte range);
2. `kgc-launch model inspect e2e/tiny-hd64 --json` with HF_ENDPOINT pointing there and an empty HF cache:
   the real huggingface_hub client fetches the metadata into that cache;
3. vLLM's own config loader (`vllm.transformers_utils.config.get_config`) reads the snapshot that step 2
   left in the cache, in the e2e venv;
4. the facts a memory plan uses must agree: layers, attention and KV heads, head size, hidden size,
   vocabulary, maximum positions, dtype; and the weight bytes must equal the real file's tensor bytes.
Prints one line per fact and exits 1 on any disagreement.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.hub_server import FakeRepo, VirtualWeights, commit_hash, running_hub  # noqa: E402

REPO = "e2e/tiny-hd64"
VLLM_READS = """
import json, sys
from vllm.transformers_utils.config import get_config
config = get_config(sys.argv[1], trust_remote_code=False)
heads = config.num_attention_heads
print(json.dumps({
    "num_hidden_layers": config.num_hidden_layers,
    "num_attention_heads": heads,
    "num_kv_heads": getattr(config, "num_key_value_heads", heads),
    "head_dim": getattr(config, "head_dim", None) or config.hidden_size // heads,
    "hidden_size": config.hidden_size,
    "vocab_size": config.vocab_size,
    "max_position_embeddings": config.max_position_embeddings,
    "torch_dtype": str(getattr(config, "dtype", None) or config.torch_dtype).removeprefix("torch."),
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model-dir", type=Path, required=True, help="the tiny e2e model (config.json, model.safetensors)"
    )
    parser.add_argument("--vllm-python", required=True, help="the e2e venv's python (real vLLM)")
    args = parser.parse_args()

    config = json.loads((args.model_dir / "config.json").read_text())
    weights = (args.model_dir / "model.safetensors").read_bytes()
    (length,) = struct.unpack("<Q", weights[:8])
    header = weights[: 8 + length]
    tensor_bytes = len(weights) - 8 - length
    commit = commit_hash(REPO, "main")
    files = {
        "config.json": json.dumps(config, indent=2).encode(),
        "model.safetensors": VirtualWeights(header, len(weights)),
    }
    with tempfile.TemporaryDirectory(prefix="kgc-e2e-hub-") as scratch, running_hub([]) as hub:
        hub.add(FakeRepo(REPO, {commit: files}, {"main": commit}))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "KGC_"))},
            "HF_ENDPOINT": hub.endpoint,
            "HF_HOME": str(Path(scratch) / "hf"),
            "XDG_CACHE_HOME": str(Path(scratch) / "cache"),
        }
        kgc = [sys.executable, "-m", "kgc_launch", "model", "inspect", REPO, "--json"]
        inspected = subprocess.run(kgc, env=env, capture_output=True, text=True, check=False)
        if inspected.returncode != 0:
            print(f"e2e-hub: kgc-launch model inspect exited {inspected.returncode}:\n{inspected.stderr}")
            return 1
        ours = json.loads(inspected.stdout)
        snapshot = Path(scratch) / "hf" / "hub" / f"models--{REPO.replace('/', '--')}" / "snapshots" / commit
        theirs_run = subprocess.run(
            [args.vllm_python, "-c", VLLM_READS, str(snapshot)], capture_output=True, text=True, check=False
        )
        if theirs_run.returncode != 0:
            print(f"e2e-hub: vLLM's get_config failed on {snapshot}:\n{theirs_run.stderr[-2000:]}")
            return 1
        theirs = json.loads(theirs_run.stdout.strip().splitlines()[-1])
        downloads = list(hub.weight_downloads)
    facts = ours["facts"]
    print(f"e2e-hub: {REPO} from {ours['source']} ({ours['source_detail']}), revision {ours['revision']}")
    failed = 0
    for name, expected in theirs.items():
        got = facts.get(name)
        same = got == expected
        failed += not same
        print(f"  {'ok ' if same else 'BAD'} {name}: kgc-launch {got!r}, vLLM {expected!r}")
    same = facts.get("weight_bytes") == tensor_bytes
    failed += not same
    print(f"  {'ok ' if same else 'BAD'} weight_bytes: kgc-launch {facts.get('weight_bytes')!r}, file {tensor_bytes}")
    if downloads:
        failed += 1
        print(f"  BAD weights were downloaded: {downloads}")
    print(f"e2e-hub: {'FAILED' if failed else 'passed'}: {failed} disagreement(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
