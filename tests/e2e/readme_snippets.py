"""The shell blocks of README.md, as the snippet test runs them.

A block fenced ```sh runs as it is written. Words after the language say otherwise:
``no-run`` for what cannot run here (``make run`` itself, production-only commands,
the commands that start the shared test servers); ``stream`` for a block whose last
command streams until interrupted: it passes once the stream's first event arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SHELLS = frozenset({"sh", "bash", "shell", "console"})
MARKERS = frozenset({"no-run", "stream"})

_FENCE = re.compile(r"^```(?P<info>.*)$")
_HEADING = re.compile(r"^#+\s+(?P<title>.+)$")


@dataclass(frozen=True)
class Snippet:
    name: str  # the section's slug and the block's place in it, e.g. "accounts-1"
    line: int  # of the opening fence, 1-based
    code: str
    markers: frozenset[str]

    @property
    def runs(self) -> bool:
        return "no-run" not in self.markers


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def shell_snippets(text: str | None = None) -> list[Snippet]:
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    snippets: list[Snippet] = []
    section, in_section, index = "top", 0, 0
    while index < len(lines):
        heading = _HEADING.match(lines[index])
        fence = _FENCE.match(lines[index])
        if heading:
            section, in_section = _slug(heading["title"]), 0
        elif fence:
            words = fence["info"].split()
            end = lines.index("```", index + 1)
            if words and words[0] in SHELLS:
                in_section += 1
                snippets.append(
                    Snippet(
                        f"{section}-{in_section}",
                        index + 1,
                        "\n".join(lines[index + 1 : end]),
                        frozenset(words[1:]),
                    )
                )
            index = end
        index += 1
    return snippets
