"""What each part of the system needs configured when it runs alone (``cinema serve``).

Pure data, without pydantic, so that ``cinema serve X --help`` can list it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.kit.config import MeshSettings

#: The services `cinema serve` runs, in the order one process opens them (auth first).
SERVICES = ("auth", "catalog", "likes", "recommendations")


@dataclass(frozen=True)
class Requirement:
    """A setting one part cannot run without when the service it names runs elsewhere."""

    setting: str  # field name, e.g. "auth_target"
    why: str
    #: Only needed while the recommender reads likes.StreamEvents, not Kafka.
    unless_kafka: bool = False

    @property
    def variable(self) -> str:
        return f"CINEMA_{self.setting.upper()}"


_VERIFIES_TOKENS = Requirement("auth_target", "verifies tokens with the auth service's JWKS")

#: What each part of `cinema serve` needs when it runs alone. Embedded (`cinema up`) every
#: target defaults to the process's own port, which is right only there: a lone service
#: left on the default would ask itself, and fail every call that needs the other.
REQUIREMENTS: dict[str, tuple[Requirement, ...]] = {
    "auth": (),
    "catalog": (_VERIFIES_TOKENS,),
    "likes": (
        _VERIFIES_TOKENS,
        Requirement("catalog_target", "checks that rated films exist"),
    ),
    "recommendations": (
        _VERIFIES_TOKENS,
        Requirement("catalog_target", "reads the films for its models"),
        Requirement("likes_target", "reads the likes log (StreamEvents)", unless_kafka=True),
        Requirement("service_token", "the `service` role StreamEvents needs", unless_kafka=True),
    ),
    "gateway": tuple(
        Requirement(f"{name}_target", f"where REST calls to the {name} service go")
        for name in SERVICES
    ),
}


def missing_settings(mesh: MeshSettings, part: str) -> list[str]:
    """The variables ``part`` needs, running alone, that ``mesh`` leaves unset."""
    return [
        need.variable
        for need in REQUIREMENTS[part]
        if not (need.unless_kafka and mesh.events_url) and not mesh.is_configured(need.setting)
    ]
