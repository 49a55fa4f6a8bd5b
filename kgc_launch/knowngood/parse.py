"""Reading a registry's YAML: fast for the data, round-trip only to point at the line of a problem.

The fast route is ruamel's safe loader (C parser when `ruamel.yaml.clib` is installed) with two
adjustments that matter at 10,000 entries: the garbage collector is paused while the object graph is
built (it otherwise rescans the growing graph again and again), and the resolver is told the YAML version
once instead of asking the C parser (which has no Python scanner to ask) for every scalar. Nesting too
deep for the C loader's stack is refused before it starts (`yamlio.refuse_deep_nesting`).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from kgc_launch.errors import InputError
from kgc_launch.yamlio import guard_expansion, load_yaml_documents, refuse_deep_nesting


def parse_plain(text: str, *, path: str | Path, what: str = "registry") -> Any:
    """The single YAML document in `text` (YAML 1.2) as plain Python data (None when there is none)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    refuse_deep_nesting(text, path=path)
    yaml = YAML(typ="safe")
    yaml.Resolver = _fixed_version_resolver()
    enabled = gc.isenabled()
    gc.disable()
    try:
        documents = [document for document in yaml.load_all(text) if document is not None]
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "malformed YAML"
        raise InputError(f"invalid YAML: {problem}", path=path, line=None if mark is None else mark.line + 1) from None
    except YAMLError as error:
        raise InputError(f"invalid YAML: {error}", path=path) from None
    except RecursionError:
        raise InputError("invalid YAML: nested too deeply", path=path) from None
    finally:
        if enabled:
            gc.enable()
    if len(documents) > 1:
        raise InputError(
            f"the {what} holds more than one YAML document", path=path, hint="keep one document (no `---`)"
        )
    document = documents[0] if documents else None
    guard_expansion(document, path=path)
    return document


def parse_located(text: str, *, path: str | Path) -> Any:
    """The document loaded round-trip, so that `yamlio.line_of` can name the line of any key."""
    documents = load_yaml_documents(path, text=text)
    return documents[0] if documents else None


_RESOLVER: Any = None


def _fixed_version_resolver() -> Any:
    global _RESOLVER
    if _RESOLVER is None:
        from ruamel.yaml.resolver import VersionedResolver

        class FixedVersionResolver(VersionedResolver):
            @property
            def processing_version(self) -> Any:
                return (1, 2)

        _RESOLVER = FixedVersionResolver
    return _RESOLVER
