"""Every committed Envoy profile (envoy/envoy.yaml beside `make run`, envoy/envoy.compose.yaml
for docker-compose.yml): fresh, and accepted by the real Envoy. test_envoy_config.py looks
into the embedded one."""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest

from edge import generate
from tests.edge.envoy_files import REPO, envoy_binary

PROFILES = sorted(generate.PROFILES)


@pytest.mark.parametrize("profile", PROFILES)
def test_the_committed_profile_is_what_the_generator_writes(profile: str, tmp_path: Path) -> None:
    committed = generate.PROFILES[profile]().out
    fresh = tmp_path / committed.name
    generate.main(["--profile", profile, "--out", str(fresh)])
    if fresh.read_bytes() != committed.read_bytes():
        name = committed.relative_to(REPO)
        diff = difflib.unified_diff(
            committed.read_text().splitlines(keepends=True),
            fresh.read_text().splitlines(keepends=True),
            f"{name} (committed)",
            "generated",
        )
        pytest.fail(f"{name} is stale: run `make envoy`\n{''.join(list(diff)[:60])}")


@pytest.mark.parametrize("profile", PROFILES)
def test_the_real_envoy_accepts_the_committed_profile(profile: str) -> None:
    config = generate.PROFILES[profile]().out
    result = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", config, "--disable-hot-restart"],
        cwd=REPO,  # the descriptor set's path is relative (the image's /app is the repository)
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"configuration '{config}' OK" in result.stdout + result.stderr
