"""The README stays true: every setting the code reads is documented."""

from __future__ import annotations

from pathlib import Path

from services.kit.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_configuration_table() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [
        f"CINEMA_{name.upper()}"
        for name in Settings.model_fields
        if f"`CINEMA_{name.upper()}`" not in text
    ]
    assert not missing, f"README lacks configuration rows for {missing}"
