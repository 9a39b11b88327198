"""Build the `cinema-api` wheel: the generated `cinema` package, alone, for other teams.

python clients/python/make_wheel.py [--out DIR]     (default DIR: dist/)

The generated modules live once, in the repository's `cinema/` (made by
`scripts/protos.py gen`). This copies them, with clients/python/pyproject.toml and
README.md, into a scratch directory and runs `uv build --wheel` there, so the wheel holds
exactly the *_pb2.py, *_pb2.pyi, *_pb2_grpc.py(i) modules, the __init__.py files and
py.typed; not the descriptor sets the gateway and Envoy read, and none of our services.
It fails when the dependency bounds in pyproject.toml are older than what the generated
code checks for at import (the protobuf gencode version, grpcio's generated version).
Prints the wheel's path.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
GENERATED = REPO / "cinema"
#: What the wheel ships from cinema/.
SHIPPED = ("*_pb2.py", "*_pb2.pyi", "*_pb2_grpc.py", "*_pb2_grpc.pyi", "__init__.py", "py.typed")
#: What stays behind: the descriptor sets of the gateway (OpenAPI) and of Envoy's transcoder.
LEFT_OUT = ("descriptors.binpb", "descriptors_full.binpb")
PROTOBUF_GENCODE = re.compile(r"^# Protobuf Python Version: (\d+)\.(\d+)\.(\d+)$", re.M)
GRPC_GENCODE = re.compile(r"^GRPC_GENERATED_VERSION = '(\d+)\.(\d+)\.(\d+)'$", re.M)
EPOCH = "315532800"  # 1980-01-01, the earliest time a zip entry holds


def shipped_files() -> list[Path]:
    """The generated files the wheel holds, relative to the repository; fails on a stranger."""
    files = sorted(
        path
        for path in GENERATED.rglob("*")
        if path.is_file() and "__pycache__" not in path.relative_to(GENERATED).parts
    )
    strangers = [
        path.relative_to(REPO).as_posix()
        for path in files
        if path.name not in LEFT_OUT and not any(path.match(pattern) for pattern in SHIPPED)
    ]
    if strangers:
        sys.exit(f"unexpected files in cinema/ (ship or leave them out on purpose): {strangers}")
    shipped = [path.relative_to(REPO) for path in files if path.name not in LEFT_OUT]
    if not any(path.name.endswith("_pb2_grpc.py") for path in shipped):
        sys.exit("no generated modules in cinema/: run `scripts/protos.py gen`")
    return shipped


def _lower_bound(requirements: list[str], name: str) -> tuple[int, ...]:
    for requirement in requirements:
        found = re.fullmatch(rf"{re.escape(name)}>=([\d.]+)(,.*)?", requirement.replace(" ", ""))
        if found:
            return tuple(int(part) for part in found.group(1).split("."))
    sys.exit(f"clients/python/pyproject.toml: no `{name}>=` lower bound")


def check_bounds(files: Sequence[Path]) -> None:
    """The pinned lower bounds must be at least the versions the generated code demands."""
    project = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"]
    needs = {"protobuf": (0, 0, 0), "grpcio": (0, 0, 0)}
    for relative in files:
        text = (REPO / relative).read_text(encoding="utf-8")
        for name, pattern in (("protobuf", PROTOBUF_GENCODE), ("grpcio", GRPC_GENCODE)):
            for found in pattern.finditer(text):
                needs[name] = max(needs[name], tuple(int(part) for part in found.groups()))
    for name, needed in needs.items():
        bound = _lower_bound(requirements, name)
        if bound < needed:
            wanted = ".".join(map(str, needed))
            sys.exit(f"the generated code needs {name}>={wanted}; pyproject.toml allows older")


def uv() -> str:
    local = Path(sys.executable).parent / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if found is None:
        sys.exit("uv not found: it is a dev dependency of the project (make install)")
    return found


def build(out: Path) -> Path:
    """Build the wheel into `out`; return its path."""
    files = shipped_files()
    check_bounds(files)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cinema-api-") as scratch:
        stage = Path(scratch) / "cinema-api"
        stage.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copyfile(HERE / name, stage / name)
        for relative in files:
            (stage / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / relative, stage / relative)
        built = Path(scratch) / "dist"
        command = [uv(), "build", "--wheel", "--python", sys.executable, "--out-dir", str(built)]
        # The same generated code gives the same wheel, byte for byte (zip entry times).
        env = {**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", EPOCH)}
        result = subprocess.run(
            [*command, str(stage)], cwd=stage, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            sys.exit(f"uv build failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        wheels = sorted(built.glob("cinema_api-*.whl"))
        if len(wheels) != 1:
            sys.exit(f"expected one wheel from uv build, got {wheels}")
        check_contents(wheels[0], files)
        target = out / wheels[0].name
        shutil.copyfile(wheels[0], target)
    return target


def check_contents(wheel: Path, files: Sequence[Path]) -> None:
    """The wheel holds the generated files and its metadata, nothing else."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    packaged = {name for name in names if not name.split("/")[0].endswith(".dist-info")}
    expected = {path.as_posix() for path in files}
    if packaged != expected:
        missing, extra = sorted(expected - packaged), sorted(packaged - expected)
        sys.exit(f"{wheel.name}: missing {missing}, unexpected {extra}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="where the wheel goes")
    print(build(parser.parse_args(argv).out.resolve()))


if __name__ == "__main__":
    main()
