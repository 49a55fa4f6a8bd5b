"""Model metadata from the Hugging Face Hub through `huggingface_hub`, the client vLLM itself uses: `fetch_model`.

Asked only when the model is neither a local path nor in the HF cache, the caller allows the network, and
the environment does not forbid it (`hub_blocked`: `KGC_NO_HUB`, `HF_HUB_OFFLINE`, `TRANSFORMERS_OFFLINE`).
What is fetched is small and goes into the standard HF cache through `hf_hub_download`, so the next run
reads it offline (`hf_cache.find_snapshot` finds it): `config.json`, `generation_config.json` and
`model.safetensors.index.json` (its `metadata.total_size` is the exact tensor bytes). A single-file
checkpoint has no index: its safetensors header is read with Range requests
(`HfApi.parse_safetensors_file_metadata`) and the totals are recorded under the kgc-launch cache, keyed by
commit (`recorded_weights`). No weight file is ever downloaded.

The environment is read from the `environ` given, not from the process: `HF_ENDPOINT`, `HF_TOKEN` (else
`HUGGING_FACE_HUB_TOKEN`, else the token file `hf auth login` writes), `HF_HOME`/`HF_HUB_CACHE` (the same
`hub_cache_dir` the offline reader uses), all passed to huggingface_hub explicitly.

Time: one deadline for the whole fetch, `KGC_HUB_TIMEOUT` seconds (default 5). Each request gets the time
left as its timeout (`model_info(timeout=)`, `hf_hub_download(etag_timeout=)`), and the fetch runs in a daemon
thread that is abandoned at the deadline, because huggingface_hub retries a failed metadata request for up
to 60 s with backoff when nothing is cached (`file_download._ETAG_RETRY_TIMEOUT`) and reads bodies with its
own `HF_HUB_DOWNLOAD_TIMEOUT`. Every failure is a `HubError` whose `reason` names it (404, gated, 5xx,
timeout, no network, offline); none is a traceback. huggingface_hub is imported only by `fetch_model`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kgc_launch.errors import UsageError
from kgc_launch.model.hf_cache import hub_cache_dir, repo_folder

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 600.0
INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
GENERATION_CONFIG = "generation_config.json"
RECORD_FORMAT = 1
# huggingface_hub `constants._is_true`: how it reads HF_HUB_OFFLINE and the other switches.
_TRUE = {"1", "ON", "YES", "TRUE"}
# safetensors dtypes -> bytes per element (safetensors `Dtype`); F8_* and I8/U8 are one byte.
DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2, "U16": 2,
    "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "I8": 1, "U8": 1, "BOOL": 1,
}  # fmt: skip

HubErrorKind = Literal[
    "disabled", "offline", "timeout", "unreachable", "not_found", "gated", "unauthorized", "forbidden",
    "revision", "no_config", "server", "http", "bad_response", "no_client",
]  # fmt: skip


class HubError(Exception):
    """The Hub could not answer: `kind` for code, `reason` for people (it names the cause and the fix)."""

    def __init__(self, kind: HubErrorKind, reason: str) -> None:
        super().__init__(reason)
        self.kind: HubErrorKind = kind
        self.reason = reason


@dataclass(frozen=True)
class HubSettings:
    """What the environment says about Hub access; read without importing huggingface_hub."""

    endpoint: str
    token: str | None = field(repr=False)
    token_source: str
    """Where the token came from (`HF_TOKEN`, a token file), or `no token`."""
    cache_dir: Path
    timeout_s: float
    blocked: str | None
    """Why the Hub may not be asked, or None when it may."""


@dataclass(frozen=True)
class HubWeights:
    """Exact tensor bytes of a checkpoint and its dtypes, read from safetensors metadata on the Hub."""

    bytes: int
    source: Literal["safetensors_index", "safetensors_header"]
    detail: str
    """Where `bytes` was read (`hub: ORG/NAME@commit: model.safetensors.index.json metadata.total_size`)."""
    dtypes: dict[str, int]
    """safetensors dtype -> parameters stored in it (empty when not known)."""
    dtypes_detail: str = ""


@dataclass(frozen=True)
class HubModel:
    """What `fetch_model` brought into the HF cache (and read from the Hub's answers)."""

    repo_id: str
    """The id as the Hub spells it."""
    revision: str
    """As asked (`main` when none was)."""
    commit: str
    endpoint: str
    snapshot: Path
    """The HF cache snapshot directory that now holds config.json."""
    config: dict[str, Any]
    generation_config: dict[str, Any] | None
    weights: HubWeights | None
    notes: list[str]
    gated: bool

    @property
    def label(self) -> str:
        return f"hub: {self.repo_id}@{self.commit}"


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().upper() in _TRUE


def hub_blocked(environ: Mapping[str, str]) -> str | None:
    """Why the environment forbids asking the Hub (`KGC_NO_HUB`, offline mode), or None when it allows it."""
    if _is_true(environ.get("KGC_NO_HUB")):
        return f"KGC_NO_HUB={environ['KGC_NO_HUB']} forbids Hub access"
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if _is_true(environ.get(name)):
            return f"{name}={environ[name]}: Hugging Face offline mode"
    return None


def hub_timeout(environ: Mapping[str, str]) -> float:
    """`KGC_HUB_TIMEOUT` in seconds (the whole fetch), default 5; a malformed value is a usage error."""
    text = environ.get("KGC_HUB_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 < value <= MAX_TIMEOUT_S):
        raise UsageError(
            f"KGC_HUB_TIMEOUT={text!r} is not a number of seconds in (0, {MAX_TIMEOUT_S:g}]",
            hint=f"for example KGC_HUB_TIMEOUT=5 (the default is {DEFAULT_TIMEOUT_S:g})",
        )
    return value


def hub_settings(environ: Mapping[str, str]) -> HubSettings:
    endpoint = (environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).strip().rstrip("/")
    token, token_source = _token(environ)
    return HubSettings(
        endpoint=endpoint,
        token=token,
        token_source=token_source,
        cache_dir=hub_cache_dir(environ),
        timeout_s=hub_timeout(environ),
        blocked=hub_blocked(environ),
    )


def _token(environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The token huggingface_hub would send (`utils/_auth.py get_token`): the variables, then the token file."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        value = environ.get(name, "").strip()
        if value:
            return value, name
    path = Path(environ["HF_TOKEN_PATH"]).expanduser() if environ.get("HF_TOKEN_PATH") else _hf_home(environ) / "token"
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None, "no token"
    return (value, f"the token file {path}") if value else (None, "no token")


def _hf_home(environ: Mapping[str, str]) -> Path:
    if environ.get("HF_HOME"):
        return Path(environ["HF_HOME"]).expanduser()
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]).expanduser() / "huggingface"
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / ".cache" / "huggingface"


def fetch_model(repo_id: str, *, revision: str | None, environ: Mapping[str, str]) -> HubModel:
    """Fetch `repo_id`'s metadata at `revision` (default `main`) into the HF cache, within the deadline.

    Raises `HubError` naming why when the Hub may not be asked or cannot answer.
    """
    settings = hub_settings(environ)
    if settings.blocked is not None:
        raise HubError("disabled" if settings.blocked.startswith("KGC_") else "offline", settings.blocked)
    unreachable = _unreachable(settings.endpoint, environ, min(1.0, settings.timeout_s))
    if unreachable is not None:
        raise HubError("unreachable", unreachable)
    try:
        import huggingface_hub  # noqa: F401  (imported here, in this thread: the deadline counts the network only)
    except ImportError:
        raise HubError(
            "no_client", "huggingface_hub is not installed beside kgc-launch (pip install huggingface_hub)"
        ) from None
    _quiet_progress_bars()
    deadline = time.monotonic() + settings.timeout_s
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["model"] = _fetch(repo_id, revision, settings, environ, deadline)
        except BaseException as error:  # handed to the caller's thread, never raised in this one
            box["error"] = error

    import threading  # only when the Hub is asked: a launch that reads the cache or the catalog does not pay

    worker = threading.Thread(target=work, name=f"kgc-hub-fetch {repo_id}", daemon=True)
    worker.start()
    worker.join(settings.timeout_s)
    if worker.is_alive():
        raise HubError(
            "timeout",
            f"no complete answer from {settings.endpoint} within {settings.timeout_s:g} s "
            "(KGC_HUB_TIMEOUT sets the limit)",
        )
    error = box.get("error")
    if isinstance(error, HubError):
        raise error
    if error is not None:
        raise describe_error(error, repo_id, revision, settings) from None
    model: HubModel = box["model"]
    return model


_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def _unreachable(endpoint: str, environ: Mapping[str, str], timeout_s: float) -> str | None:
    """Why the endpoint cannot be reached (its name does not resolve, nothing answers on its port), found in
    milliseconds before the ~0.3 s import of huggingface_hub; None when it answers or a proxy stands between."""
    import socket
    from urllib.parse import urlsplit

    if any(environ.get(name) for name in _PROXY_VARIABLES):
        return None  # the client goes through the proxy; only it can tell
    parts = urlsplit(endpoint)
    if not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return None
    except OSError as error:
        return f"cannot reach {endpoint}: {error.strerror or error}"


def _quiet_progress_bars() -> None:
    """No tqdm bars on stderr for a few small files (huggingface_hub's own switch; kgc-launch is the process)."""
    import importlib

    try:
        utils = importlib.import_module("huggingface_hub.utils")
        if not utils.are_progress_bars_disabled():
            utils.disable_progress_bars()
    except Exception:  # another layout of the package: the bars are cosmetic
        pass


class _Clock:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the Hub deadline passed")
        return left


def _fetch(
    repo_id: str, revision: str | None, settings: HubSettings, environ: Mapping[str, str], deadline: float
) -> HubModel:
    from huggingface_hub import HfApi

    clock = _Clock(deadline)
    token: str | bool = settings.token if settings.token else False
    api = HfApi(endpoint=settings.endpoint, token=token)
    asked = revision or "main"
    # One API call answers the commit, the file list, whether the repo is gated, and the dtypes the Hub
    # counted in all safetensors headers; it is not retried by huggingface_hub, so its error is the real one.
    info = api.model_info(repo_id, revision=asked, timeout=clock.left())
    canonical = str(getattr(info, "id", None) or repo_id)
    siblings = getattr(info, "siblings", None)
    files = {str(sibling.rfilename) for sibling in siblings} if siblings is not None else None
    if files is not None and "config.json" not in files:
        raise HubError(
            "no_config",
            f"{canonical}@{info.sha or asked} on {settings.endpoint} has no config.json "
            "(not a transformers model vLLM can load from this repo)",
        )
    # By the asked revision, not the commit: huggingface_hub then records refs/<revision> -> commit, which
    # is how the offline reader finds this snapshot next time.
    config_path = Path(_download(repo_id, "config.json", asked, settings, clock))
    snapshot = config_path.parent
    commit = snapshot.name
    config = _load_json(config_path, f"{canonical}@{commit}: config.json")
    notes = [f"fetched from {settings.endpoint} into the Hugging Face cache ({snapshot}); later runs read it offline"]
    generation = None
    if files is None or GENERATION_CONFIG in files:
        generation_path = _download_optional(repo_id, GENERATION_CONFIG, commit, settings, clock)
        if generation_path is not None:
            generation = _load_json(Path(generation_path), f"{canonical}@{commit}: {GENERATION_CONFIG}")
    label = f"hub: {canonical}@{commit}"
    weights = _weights(api, info, repo_id, commit, files, label, settings, clock, notes)
    if weights is not None:
        record_weights(environ, repo_id, commit, weights)
    gated = bool(getattr(info, "gated", False))
    return HubModel(canonical, asked, commit, settings.endpoint, snapshot, config, generation, weights, notes, gated)


def _download(repo_id: str, filename: str, revision: str, settings: HubSettings, clock: _Clock) -> str:
    from huggingface_hub import hf_hub_download

    path = hf_hub_download(
        repo_id,
        filename,
        revision=revision,
        cache_dir=str(settings.cache_dir),
        etag_timeout=clock.left(),
        token=settings.token if settings.token else False,
        endpoint=settings.endpoint,
    )
    return str(path)


def _download_optional(repo_id: str, filename: str, revision: str, settings: HubSettings, clock: _Clock) -> str | None:
    try:
        return _download(repo_id, filename, revision, settings, clock)
    except Exception as error:
        if _is_missing_file(error):
            return None
        raise


def _is_missing_file(error: BaseException) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"EntryNotFoundError", "RemoteEntryNotFoundError"})


def _load_json(path: Path, label: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise HubError("bad_response", f"{label} is not readable JSON: {error}") from None
    if not isinstance(document, dict):
        raise HubError("bad_response", f"{label} is not a JSON object")
    return document


def _weights(
    api: Any,
    info: Any,
    repo_id: str,
    commit: str,
    files: set[str] | None,
    label: str,
    settings: HubSettings,
    clock: _Clock,
    notes: list[str],
) -> HubWeights | None:
    """Exact tensor bytes: the index's total_size (sharded), else the single file's header (Range requests)."""
    counted = _api_dtypes(info)
    if files is None or INDEX_FILE in files:
        index_path = _download_optional(repo_id, INDEX_FILE, commit, settings, clock)
        if index_path is not None:
            total = _index_total(Path(index_path))
            if total is not None:
                return HubWeights(
                    total,
                    "safetensors_index",
                    f"{label}: {INDEX_FILE} metadata.total_size",
                    counted,
                    f"{label}: api/models safetensors.parameters (the Hub's count over all shard headers)"
                    if counted
                    else "",
                )
            notes.append(f"{label}: {INDEX_FILE} has no metadata.total_size")
    if files is None or SINGLE_FILE in files:
        header = _single_file_header(api, repo_id, commit, clock)
        if header is not None:
            total, dtypes = header
            detail = f"{label}: {SINGLE_FILE} header (sum of the tensors' data_offsets)"
            return HubWeights(total, "safetensors_header", detail, dtypes, f"{label}: {SINGLE_FILE} header")
    if files is not None:
        notes.append(f"{label}: no safetensors weights listed; weight bytes are an estimate from config.json")
    return None


def _api_dtypes(info: Any) -> dict[str, int]:
    safetensors = getattr(info, "safetensors", None)
    parameters = getattr(safetensors, "parameters", None)
    if not isinstance(parameters, Mapping):
        return {}
    return {str(dtype): int(count) for dtype, count in parameters.items() if isinstance(count, int)}


def _index_total(path: Path) -> int | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    metadata = document.get("metadata") if isinstance(document, dict) else None
    total = metadata.get("total_size") if isinstance(metadata, dict) else None
    if isinstance(total, bool) or not isinstance(total, (int, float)) or total <= 0:
        return None
    return int(total)


def _single_file_header(api: Any, repo_id: str, commit: str, clock: _Clock) -> tuple[int, dict[str, int]] | None:
    import inspect

    parse = api.parse_safetensors_file_metadata
    kwargs: dict[str, Any] = {"revision": commit}
    if "timeout" in inspect.signature(parse).parameters:  # huggingface_hub >= 1.0
        kwargs["timeout"] = clock.left()
    try:
        metadata = parse(repo_id, SINGLE_FILE, **kwargs)
    except Exception as error:
        if _is_missing_file(error):
            return None
        raise
    total = 0
    for tensor in metadata.tensors.values():
        begin, end = tensor.data_offsets
        total += int(end) - int(begin)
    dtypes = {str(dtype): int(count) for dtype, count in metadata.parameter_count.items()}
    return total, dtypes


def describe_error(error: BaseException, repo_id: str, revision: str | None, settings: HubSettings) -> HubError:
    """A huggingface_hub (or HTTP library) exception as a named reason, for any of its versions."""
    chain = list(_chain(error))
    names = {cls.__name__ for item in chain for cls in type(item).__mro__}
    status = next((code for item in chain if (code := _status(item)) is not None), None)
    where = f"{settings.endpoint}/{repo_id}"
    token = settings.token_source
    if "OfflineModeIsEnabled" in names:
        return HubError("offline", "huggingface_hub is in offline mode (HF_HUB_OFFLINE is set in this process)")
    if "GatedRepoError" in names:
        if status == 403 or settings.token:
            return HubError(
                "gated",
                f"{repo_id} is gated and the token ({token}) has no access ({status or 'refused'}): "
                f"request access at {where} with that account, or set HF_TOKEN to a token that has it",
            )
        return HubError(
            "gated",
            f"{repo_id} is gated ({status or 401}): no token was sent; accept its conditions at {where}, then set "
            "HF_TOKEN to a read token of that account (or run `hf auth login`)",
        )
    if "RevisionNotFoundError" in names:
        return HubError("revision", f"{repo_id} has no revision {revision or 'main'!r} on {settings.endpoint}")
    if "RepositoryNotFoundError" in names:
        if status == 401 and not settings.token:
            return HubError(
                "not_found",
                f"{repo_id}: not found on {settings.endpoint} (401), or private or gated and no token was sent "
                "(set HF_TOKEN if you have access)",
            )
        return HubError("not_found", f"no model {repo_id} on {settings.endpoint} ({status or 404})")
    if names & {"EntryNotFoundError", "RemoteEntryNotFoundError"}:
        return HubError("no_config", f"{repo_id}@{revision or 'main'} on {settings.endpoint} has no config.json")
    if status == 401:
        return HubError("unauthorized", f"{settings.endpoint} refused the token ({token}) with 401: check HF_TOKEN")
    if status == 403:
        return HubError("forbidden", f"{settings.endpoint} refused access to {repo_id} (403) with {token}")
    if status is not None and status >= 500:
        return HubError("server", f"{settings.endpoint} answered {status} (server error) for {repo_id}")
    if status is not None:
        return HubError("http", f"{settings.endpoint} answered HTTP {status} for {repo_id}")
    # Refused or unresolvable before timeouts: urllib3's NewConnectionError derives from ConnectTimeoutError.
    if names & {"ConnectionRefusedError", "NewConnectionError", "NameResolutionError", "gaierror", "ConnectError"}:
        return HubError("unreachable", f"cannot reach {settings.endpoint}: {_first_line(chain[-1])}")
    if isinstance(error, TimeoutError) or any("Timeout" in name for name in names):
        return HubError(
            "timeout",
            f"no answer from {settings.endpoint} within {settings.timeout_s:g} s (KGC_HUB_TIMEOUT sets the limit)",
        )
    if names & {"ConnectionError", "NetworkError", "LocalEntryNotFoundError", "OSError"}:
        return HubError("unreachable", f"cannot reach {settings.endpoint}: {_first_line(chain[-1])}")
    if names & {"FileMetadataError", "SafetensorsParsingError", "JSONDecodeError", "ValueError"}:
        return HubError(
            "bad_response", f"{settings.endpoint} gave an answer that is not the Hub's: {_first_line(error)}"
        )
    return HubError("http", f"{type(error).__name__} while asking {settings.endpoint}: {_first_line(error)}")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


# ---- the record of header-derived weights, so a single-file checkpoint's bytes are known offline too ----


def record_path(environ: Mapping[str, str], repo_id: str, commit: str) -> Path | None:
    from kgc_launch.filecache import default_cache_dir

    base = default_cache_dir(environ)
    if base is None:
        return None
    return base / "hub-weights" / repo_folder(Path("."), repo_id).name / f"{commit}.json"


def record_weights(environ: Mapping[str, str], repo_id: str, commit: str, weights: HubWeights) -> None:
    """Keep what the Hub said about the weights at `commit` (immutable); a failure to write is not an error."""
    from kgc_launch.atomic import write_atomic

    path = record_path(environ, repo_id, commit)
    if path is None:
        return
    document = {
        "format": RECORD_FORMAT,
        "repo_id": repo_id,
        "commit": commit,
        "bytes": weights.bytes,
        "source": weights.source,
        "detail": weights.detail,
        "dtypes": weights.dtypes,
        "dtypes_detail": weights.dtypes_detail,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(document, indent=1) + "\n")
    except OSError:
        pass


def recorded_weights(environ: Mapping[str, str], repo_id: str, commit: str) -> HubWeights | None:
    """The weights `record_weights` kept for `repo_id` at `commit`, or None."""
    path = record_path(environ, repo_id, commit)
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != RECORD_FORMAT or document.get("commit") != commit:
        return None
    size, source, dtypes = document.get("bytes"), document.get("source"), document.get("dtypes")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        return None
    if source not in ("safetensors_index", "safetensors_header") or not isinstance(dtypes, dict):
        return None
    return HubWeights(
        size,
        source,
        str(document.get("detail", "")),
        {str(k): int(v) for k, v in dtypes.items() if isinstance(v, int)},
        str(document.get("dtypes_detail", "")),
    )


def dtypes_text(dtypes: Mapping[str, int]) -> str:
    """`BF16 8.19e9, F32 1.2e3` parameters by dtype, largest first."""
    ordered = sorted(dtypes.items(), key=lambda item: -item[1])
    return ", ".join(f"{dtype} {count:,}" for dtype, count in ordered)
