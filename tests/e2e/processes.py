"""What the end-to-end tests need to run `cinema` as a user does."""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
CINEMA = str(BIN / "cinema")
GRPCURL = shutil.which("grpcurl", path=str(BIN)) or "grpcurl"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
