from __future__ import annotations

from pathlib import Path

import pytest

from testing.hub_server import fake_hub  # noqa: F401  (a fixture, for tests/test_model_hub.py)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-gpu", action="store_true", help="run tests marked gpu (needs a real NVIDIA GPU)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-gpu"):
        return
    skip = pytest.mark.skip(reason="needs a real NVIDIA GPU: run with --run-gpu")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's environment or writes to $HOME or the shared caches."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    # No test joins the developer's Ray cluster: no RAY_ADDRESS, and no local head where Ray looks for one.
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(home / "ray-tmp"))
    for name in list(__import__("os").environ):
        if name.startswith(("FERRUM_", "KGC_", "VLLM_", "HF_")) or name in (
            "CUDA_VISIBLE_DEVICES",
            "NVIDIA_VISIBLE_DEVICES",
            "CUDA_DEVICE_ORDER",
            "KNOWN_GOOD_CONFIG_REGISTRY",
        ):
            monkeypatch.delenv(name, raising=False)
    # The tests written before the recipes layer check the user's registry alone; the layer's own tests
    # (tests/test_knowngood_recipes*.py, test_knowngood_layers.py) turn it back on with `recipes_layer_on`.
    monkeypatch.setenv("KGC_NO_RECIPES", "1")
    # No test reaches the real Hub: tests of the Hub path use `fake_hub` (testing/hub_server.py), which lifts this.
    monkeypatch.setenv("KGC_NO_HUB", "1")


@pytest.fixture
def recipes_layer_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Launches and registry commands read the shipped recipes layer under the registry, as they do by default."""
    monkeypatch.delenv("KGC_NO_RECIPES", raising=False)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
