"""One process's configuration: a section per part, each read when first asked for.

Every process reads ``process`` and ``mesh``. A part's own section is read from the
environment, and so validated, the first time it is asked for: `cinema serve auth` never
reads GigaChat's settings and cannot fail on them. ``check(part)`` reads a part's
sections up front, so a bad variable stops the process at start-up.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, TypeVar

from pydantic_settings import BaseSettings

from gateway.settings import GatewaySettings
from services.auth.settings import AuthSettings
from services.catalog.settings import CatalogSettings
from services.kit.config import MeshSettings, ProcessSettings
from services.likes.settings import LikesSettings
from services.recommendations.settings import GigaChatSettings, RecommendationsSettings

S = TypeVar("S", bound=BaseSettings)

SECTIONS: tuple[type[BaseSettings], ...] = (
    ProcessSettings,
    MeshSettings,
    AuthSettings,
    CatalogSettings,
    LikesSettings,
    RecommendationsSettings,
    GigaChatSettings,
    GatewaySettings,
)

#: The sections each part runs on, besides ``process`` and ``mesh``.
PARTS: dict[str, tuple[str, ...]] = {
    "auth": ("auth",),
    "catalog": ("catalog",),
    "likes": ("likes",),
    "recommendations": ("recommendations", "gigachat"),
    "gateway": ("gateway",),
    "etl": ("catalog",),
}


class Settings:
    """The sections of one process; ``values`` override the environment by field name."""

    def __init__(self, **values: Any) -> None:
        owners = {name: section for section in SECTIONS for name in section.model_fields}
        unknown = sorted(set(values) - owners.keys())
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(unknown)}")
        self._values = values
        self._owners = owners
        self.process = self._read(ProcessSettings)
        self.mesh = self._read(MeshSettings).with_own_target(self.process.own_target)

    def check(self, *parts: str) -> None:
        """Reads the sections ``parts`` run on; raises pydantic's ValidationError."""
        for part in parts:
            for name in PARTS[part]:
                getattr(self, name)

    @cached_property
    def auth(self) -> AuthSettings:
        return self._read(AuthSettings, auth_dsn=self.process.sqlite_dsn("auth.db"))

    @cached_property
    def catalog(self) -> CatalogSettings:
        catalog = self._read(CatalogSettings, catalog_dsn=self.process.sqlite_dsn("catalog.db"))
        return _defaulted(catalog, search_dsn=catalog.catalog_dsn)

    @cached_property
    def likes(self) -> LikesSettings:
        return self._read(LikesSettings, likes_dsn=self.process.sqlite_dsn("likes.db"))

    @cached_property
    def recommendations(self) -> RecommendationsSettings:
        return self._read(
            RecommendationsSettings,
            recommendations_dsn=self.process.sqlite_dsn("recommendations.db"),
        )

    @cached_property
    def gigachat(self) -> GigaChatSettings:
        return self._read(GigaChatSettings)

    @cached_property
    def gateway(self) -> GatewaySettings:
        return self._read(GatewaySettings)

    def _read(self, section: type[S], **embedded: str) -> S:
        """``section`` from the environment and the given values; each of ``embedded``
        (an embedded-stack default that depends on another section) fills its field
        when neither set it."""
        given = {
            name: value for name, value in self._values.items() if self._owners[name] is section
        }
        return _defaulted(section(**given), **embedded)


def _defaulted(section: S, **embedded: str) -> S:
    empty = {name: value for name, value in embedded.items() if not getattr(section, name)}
    return section.model_copy(update=empty) if empty else section
