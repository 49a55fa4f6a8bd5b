"""A stand-in for the Hugging Face Hub on 127.0.0.1, for the real `huggingface_hub` client (via HF_ENDPOINT).

It answers the requests huggingface_hub makes (read in its source, `hf_api.py` and `file_download.py`):

- `GET /api/models/{repo}` and `/api/models/{repo}/revision/{rev}` (`HfApi.model_info`): `id`, `sha`,
  `siblings`, `gated`, `safetensors.parameters`;
- `HEAD /{repo}/resolve/{rev}/{file}` (`get_hf_file_metadata`): `X-Repo-Commit`, `ETag` (and for LFS-like
  files `X-Linked-Etag`, `X-Linked-Size`), `Content-Length`;
- `GET /{repo}/resolve/{rev}/{file}` with or without `Range: bytes=A-B` (`http_get`,
  `parse_safetensors_file_metadata`);
- errors as the Hub spells them: `X-Error-Code: RepoNotFound` (401 without a token, 404 with one),
  `GatedRepo` (401 without a token, 403 with a token that has no access), `RevisionNotFound`,
  `EntryNotFound`; plus a server that answers 500 to everything and one that never answers.

Weight files are virtual: a real safetensors header (8-byte little-endian length, JSON) followed by as many
zero bytes as the tensors need, served only in ranges. A GET of a weight file without a Range header is
refused and recorded in `weight_downloads`, so a test can assert that nothing downloads weights.
"""

from __future__ import annotations

import hashlib
import json
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
DTYPE_BYTES = {"F32": 4, "BF16": 2, "F16": 2, "F8_E4M3": 1, "U8": 1, "I8": 1}


def safetensors_header(tensors: Mapping[str, tuple[str, list[int]]]) -> tuple[bytes, int, dict[str, int]]:
    """A safetensors file's first bytes for `tensors` (name -> (dtype, shape)), laid out in order.

    Returns the 8-byte length + JSON header (padded to 8 bytes with spaces, as the safetensors writer does),
    the total tensor bytes, and the parameter count per dtype.
    """
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    parameters: dict[str, int] = {}
    for name, (dtype, shape) in tensors.items():
        count = 1
        for dimension in shape:
            count *= dimension
        size = count * DTYPE_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
        parameters[dtype] = parameters.get(dtype, 0) + count
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, offset, parameters


def decoder_tensors(config: Mapping[str, Any], dtype: str = "BF16") -> dict[str, tuple[str, list[int]]]:
    """The tensors of a Llama/Qwen-style decoder (transformers names) for a config.json, MoE included."""
    text = config.get("text_config") or config
    hidden, layers = text["hidden_size"], text["num_hidden_layers"]
    heads = text["num_attention_heads"]
    kv_heads = text.get("num_key_value_heads", heads)
    head_dim = text.get("head_dim") or hidden // heads
    vocab = text["vocab_size"]
    experts = text.get("num_experts") or text.get("num_local_experts") or 0
    tensors: dict[str, tuple[str, list[int]]] = {"model.embed_tokens.weight": (dtype, [vocab, hidden])}
    for layer in range(layers):
        prefix = f"model.layers.{layer}"
        tensors[f"{prefix}.input_layernorm.weight"] = (dtype, [hidden])
        tensors[f"{prefix}.self_attn.q_proj.weight"] = (dtype, [heads * head_dim, hidden])
        tensors[f"{prefix}.self_attn.k_proj.weight"] = (dtype, [kv_heads * head_dim, hidden])
        tensors[f"{prefix}.self_attn.v_proj.weight"] = (dtype, [kv_heads * head_dim, hidden])
        tensors[f"{prefix}.self_attn.o_proj.weight"] = (dtype, [hidden, heads * head_dim])
        tensors[f"{prefix}.post_attention_layernorm.weight"] = (dtype, [hidden])
        if experts:
            width = text["moe_intermediate_size"]
            tensors[f"{prefix}.mlp.gate.weight"] = (dtype, [experts, hidden])
            for expert in range(experts):
                for name, shape in (("gate_proj", [width, hidden]), ("up_proj", [width, hidden])):
                    tensors[f"{prefix}.mlp.experts.{expert}.{name}.weight"] = (dtype, shape)
                tensors[f"{prefix}.mlp.experts.{expert}.down_proj.weight"] = (dtype, [hidden, width])
        else:
            width = text["intermediate_size"]
            tensors[f"{prefix}.mlp.gate_proj.weight"] = (dtype, [width, hidden])
            tensors[f"{prefix}.mlp.up_proj.weight"] = (dtype, [width, hidden])
            tensors[f"{prefix}.mlp.down_proj.weight"] = (dtype, [hidden, width])
    tensors["model.norm.weight"] = (dtype, [hidden])
    if not text.get("tie_word_embeddings", True):
        tensors["lm_head.weight"] = (dtype, [vocab, hidden])
    return tensors


@dataclass
class VirtualWeights:
    """A weight file of `size` bytes whose first bytes are `head` and the rest zeros."""

    head: bytes
    size: int

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end] (inclusive, as HTTP ranges are)."""
        end = min(end, self.size - 1)
        if start > end:
            return b""
        out = self.head[start : end + 1]
        return out + b"\0" * (end + 1 - start - len(out))


FileContent = bytes | VirtualWeights


@dataclass
class FakeRepo:
    """One model repo: commits (commit hash -> files), refs (branch or tag -> commit), access rules."""

    repo_id: str
    commits: dict[str, dict[str, FileContent]]
    refs: dict[str, str]
    gated: bool = False
    tokens: frozenset[str] = frozenset()
    """Tokens with access to a gated repo."""
    parameters: dict[str, int] = field(default_factory=dict)
    """What the API reports as `safetensors.parameters` (the Hub's count over all headers)."""

    def commit_of(self, revision: str) -> str | None:
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None


def commit_hash(*parts: str) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()


def sharded_repo(
    repo_id: str, config: dict[str, Any], *, total_size: int, shards: int = 4, gated: bool = False, **extra: Any
) -> FakeRepo:
    """A repo with config.json, a safetensors index whose metadata.total_size is `total_size`, and shards."""
    names = [f"model-{i + 1:05d}-of-{shards:05d}.safetensors" for i in range(shards)]
    index = {"metadata": {"total_size": total_size}, "weight_map": {"model.embed_tokens.weight": names[0]}}
    files: dict[str, FileContent] = {
        "config.json": json.dumps(config, indent=2).encode(),
        "model.safetensors.index.json": json.dumps(index).encode(),
    }
    for name in names:
        head, _, _ = safetensors_header({"x": ("BF16", [1])})
        files[name] = VirtualWeights(head, total_size // shards)
    commit = commit_hash(repo_id, "main")
    return FakeRepo(repo_id, {commit: files}, {"main": commit}, gated=gated, **extra)


def single_file_repo(
    repo_id: str, config: dict[str, Any], tensors: Mapping[str, tuple[str, list[int]]], **extra: Any
) -> tuple[FakeRepo, int, dict[str, int]]:
    """A repo with config.json and one model.safetensors whose header describes `tensors`."""
    head, total, parameters = safetensors_header(tensors)
    files: dict[str, FileContent] = {
        "config.json": json.dumps(config, indent=2).encode(),
        "model.safetensors": VirtualWeights(head, len(head) + total),
    }
    commit = commit_hash(repo_id, "main")
    return FakeRepo(repo_id, {commit: files}, {"main": commit}, parameters=parameters, **extra), total, parameters


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    authorization: str | None


class FakeHub:
    """The server's state: repos, the mode (`normal`, `error500`, `hang`), and what was asked."""

    def __init__(self, repos: list[FakeRepo] | None = None) -> None:
        self.repos: dict[str, FakeRepo] = {repo.repo_id.lower(): repo for repo in repos or []}
        self.mode = "normal"
        self.latency_s = 0.0
        """Added before every answer: a stand-in for the round trip to a distant Hub (benchmarks)."""
        self.requests: list[Request] = []
        self.weight_downloads: list[str] = []
        self.release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add(self, repo: FakeRepo) -> FakeRepo:
        self.repos[repo.repo_id.lower()] = repo
        return repo

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "the fake Hub is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        hub = self

        class Handler(_Handler):
            state = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-hub", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.release.set()  # a hanging handler returns, so its client sees the connection close
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def paths(self, method: str | None = None) -> list[str]:
        return [request.path for request in self.requests if method is None or request.method == method]


@contextmanager
def running_hub(repos: list[FakeRepo] | None = None) -> Iterator[FakeHub]:
    hub = FakeHub(repos)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A running fake Hub with no repos; HF_ENDPOINT points at it and Hub access is allowed.

    Stopped after the test, which then fails if anything asked for a weight file in full.
    """
    with running_hub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        monkeypatch.delenv("KGC_NO_HUB", raising=False)
        yield hub
    assert hub.weight_downloads == [], f"weights were requested in full: {hub.weight_downloads}"


class _Handler(BaseHTTPRequestHandler):
    state: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, *, head: bool) -> None:
        hub = self.state
        path = urlsplit(self.path).path
        hub.requests.append(Request(self.command, path, self.headers.get("Range"), self.headers.get("Authorization")))
        if hub.latency_s:
            time.sleep(hub.latency_s)
        if hub.mode == "hang":
            hub.release.wait(timeout=60)
            self.close_connection = True
            return
        if hub.mode == "error500":
            self._send(500, b'{"error":"Internal Error"}', head=head, content_type="application/json")
            return
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if parts[:2] == ["api", "models"] and len(parts) in (4, 6):
            self._model_info(parts[2] + "/" + parts[3], parts[5] if len(parts) == 6 else "main", head=head)
        elif len(parts) >= 5 and parts[2] == "resolve":
            self._resolve(parts[0] + "/" + parts[1], parts[3], "/".join(parts[4:]), head=head)
        else:
            self._send(404, b"not found", head=head)

    def _token(self) -> str | None:
        value = self.headers.get("Authorization") or ""
        return value.removeprefix("Bearer ").strip() or None

    def _repo(self, repo_id: str, head: bool) -> FakeRepo | None:
        repo = self.state.repos.get(repo_id.lower())
        if repo is None:
            # The Hub answers 401 to an anonymous request for a missing repo (it could be private), 404 otherwise.
            status = 404 if self._token() else 401
            self._send(status, b'{"error":"Repository not found"}', head=head, error_code="RepoNotFound")
        return repo

    def _model_info(self, repo_id: str, revision: str, *, head: bool) -> None:
        repo = self._repo(repo_id, head)
        if repo is None:
            return
        commit = repo.commit_of(revision)
        if commit is None:
            self._send(404, b'{"error":"Invalid rev id"}', head=head, error_code="RevisionNotFound")
            return
        document: dict[str, Any] = {
            "_id": commit[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "sha": commit,
            "private": False,
            "gated": "manual" if repo.gated else False,
            "disabled": False,
            "tags": ["transformers", "safetensors", "text-generation"],
            "pipeline_tag": "text-generation",
            "library_name": "transformers",
            "siblings": [{"rfilename": name} for name in sorted(repo.commits[commit])],
        }
        if repo.parameters:
            document["safetensors"] = {"parameters": repo.parameters, "total": sum(repo.parameters.values())}
        self._send(200, json.dumps(document).encode(), head=head, content_type="application/json")

    def _resolve(self, repo_id: str, revision: str, filename: str, *, head: bool) -> None:
        repo = self._repo(repo_id, head)
        if repo is None:
            return
        if repo.gated and self._token() not in repo.tokens:
            status = 403 if self._token() else 401
            message = f"Access to model {repo.repo_id} is restricted. You must have access to it and be authenticated."
            self._send(status, message.encode(), head=head, error_code="GatedRepo", error_message=message)
            return
        commit = repo.commit_of(revision)
        if commit is None:
            self._send(404, b"Invalid rev id", head=head, error_code="RevisionNotFound")
            return
        content = repo.commits[commit].get(filename)
        if content is None:
            self._send(404, b"Entry not found", head=head, error_code="EntryNotFound", commit=commit)
            return
        if isinstance(content, bytes):
            etag = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # git's blob id
            self._send(200, content, head=head, commit=commit, etag=etag)
            return
        self._weights(filename, content, commit, head=head)

    def _weights(self, filename: str, content: VirtualWeights, commit: str, *, head: bool) -> None:
        etag = hashlib.sha256(content.head + str(content.size).encode()).hexdigest()
        linked = {"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(content.size)}
        if head:
            self._send(200, b"", head=True, commit=commit, etag=etag, extra=linked, length=content.size)
            return
        wanted = self.headers.get("Range")
        if not wanted or not wanted.startswith("bytes="):
            self.state.weight_downloads.append(filename)
            self._send(403, b"the fake Hub refuses to serve weights in full", head=False)
            return
        start_text, _, end_text = wanted.removeprefix("bytes=").partition("-")
        start = int(start_text)
        end = int(end_text) if end_text else content.size - 1
        body = content.read(start, end)
        extra = {**linked, "Content-Range": f"bytes {start}-{start + len(body) - 1}/{content.size}"}
        self._send(206, body, head=False, commit=commit, etag=etag, extra=extra)

    def _send(
        self,
        status: int,
        body: bytes,
        *,
        head: bool,
        content_type: str = "application/octet-stream",
        error_code: str | None = None,
        error_message: str | None = None,
        commit: str | None = None,
        etag: str | None = None,
        extra: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        if error_code:
            self.send_header("X-Error-Code", error_code)
        if error_message:
            self.send_header("X-Error-Message", error_message)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        if etag:
            self.send_header("ETag", f'"{etag}"')
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)
