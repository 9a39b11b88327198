"""The README stays true: every setting the code reads is documented, every snippet runs.

The snippets run in tests/e2e/test_readme_snippets.py, against a live `cinema up`.
"""

from __future__ import annotations

from pathlib import Path

from services.settings import SECTIONS
from tests.e2e.readme_snippets import MARKERS, shell_snippets

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_configuration_table() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [
        f"CINEMA_{name.upper()}"
        for section in SECTIONS
        for name in section.model_fields
        if f"`CINEMA_{name.upper()}`" not in text
    ]
    assert not missing, f"README lacks configuration rows for {missing}"


def test_every_shell_snippet_runs_or_says_why_not() -> None:
    snippets = shell_snippets()
    unknown = {s.name: sorted(s.markers - MARKERS) for s in snippets if s.markers - MARKERS}
    assert not unknown, f"unknown markers after ```sh (known: {sorted(MARKERS)}): {unknown}"
    assert any(s.runs for s in snippets), "no README snippet is run by the tests"
