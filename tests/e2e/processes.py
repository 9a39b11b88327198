"""What the end-to-end tests need to run `cinema` as a user does."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
CINEMA = str(BIN / "cinema")
GRPCURL = shutil.which("grpcurl", path=str(BIN)) or "grpcurl"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cinema_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This environment without any ``CINEMA_*`` of the caller's, plus ``settings``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CINEMA_")}
    env["CINEMA_DATA_DIR"] = str(data_dir)
    env.update({f"CINEMA_{name.upper()}": value for name, value in settings.items()})
    return env


@dataclass(frozen=True)
class RunningCinema:
    """A `cinema up` process: where it listens and the environment it runs in."""

    grpc_address: str  # host:port
    http_base: str  # http://host:port
    env: dict[str, str]  # its data directory and ports, for commands run beside it
