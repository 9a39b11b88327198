"""Generate, check and baseline the Cinema gRPC contracts.

python scripts/protos.py deps      copy googleapis protos into third_party/ for buf
python scripts/protos.py gen       regenerate the `cinema` package from protos/
python scripts/protos.py check     fail if `cinema` is stale, buf lint or buf breaking fails
python scripts/protos.py baseline  rebuild the buf breaking baseline (on purpose only)
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO / "protos"
PACKAGE = "cinema"
GENERATED = REPO / PACKAGE
BASELINE = PROTO_ROOT / "baseline" / "cinema-v1.binpb"
THIRD_PARTY = REPO / "third_party" / "googleapis"
GOOGLEAPIS_DIRS = ("google/api", "google/rpc", "google/type")
BIN = Path(sys.executable).parent
MYPY_STUB_HEADER = "# mypy: ignore-errors\n"
DESCRIPTOR_SET = "descriptors.binpb"  # read by gateway/comments.py
#: The descriptor set Envoy's grpc_json_transcoder reads (edge/, envoy/envoy.yaml): our
#: protos with every file they import, and google.rpc's status and error details, so that
#: `convert_grpc_status` can render the details our errors carry. No source info.
TRANSCODER_DESCRIPTOR_SET = "descriptors_full.binpb"
TRANSCODER_EXTRA_PROTOS = ("google/rpc/status.proto", "google/rpc/error_details.proto")
PACKAGE_DOCSTRING = '"""Generated from protos/ by scripts/protos.py gen; do not edit."""\n'


def googleapis_root() -> Path:
    """The include root of the .proto files googleapis-common-protos installs."""
    spec = importlib.util.find_spec("google.api")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("googleapis-common-protos is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve().parent.parent


GOOGLEAPIS = googleapis_root()


def run(command: Sequence[str | Path]) -> None:
    """Run a command from the repository root; exit with its status if it fails."""
    args = [str(part) for part in command]
    result = subprocess.run(args, cwd=REPO, check=False)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(args)}")


def buf() -> Path:
    local = BIN / "buf"
    found = local if local.exists() else shutil.which("buf")
    if found is None:
        sys.exit("buf not found: install the buf-bin dev dependency")
    return Path(found)


def proto_files() -> list[str]:
    return sorted(
        path.relative_to(PROTO_ROOT).as_posix() for path in (PROTO_ROOT / PACKAGE).rglob("*.proto")
    )


def deps() -> None:
    """Mirror the googleapis protos buf needs into third_party/googleapis."""
    for relative in GOOGLEAPIS_DIRS:
        source, target = GOOGLEAPIS / relative, THIRD_PARTY / relative
        wanted = {path.name for path in source.glob("*.proto")}
        if not wanted:
            sys.exit(f"no .proto files in {source}: is googleapis-common-protos installed?")
        target.mkdir(parents=True, exist_ok=True)
        for stale in target.glob("*.proto"):
            if stale.name not in wanted:
                stale.unlink()
        for name in sorted(wanted):
            if not (target / name).exists() or not filecmp.cmp(
                source / name, target / name, shallow=False
            ):
                shutil.copyfile(source / name, target / name)


def generate(out: Path) -> None:
    """Write the generated package (modules, stubs, __init__.py files) under `out`.

    Beside the modules, the descriptor set of our protos with their comments (source info),
    which the generated modules drop: the gateway puts them into its OpenAPI; and the
    self-contained one (every import, no source info) Envoy's transcoder loads.
    """
    (out / PACKAGE).mkdir(parents=True, exist_ok=True)
    run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{GOOGLEAPIS}",
            f"--plugin=protoc-gen-mypy={BIN / 'protoc-gen-mypy'}",
            f"--plugin=protoc-gen-mypy_grpc={BIN / 'protoc-gen-mypy_grpc'}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            f"--mypy_out=quiet:{out}",
            f"--mypy_grpc_out=quiet:{out}",
            f"--descriptor_set_out={out / PACKAGE / DESCRIPTOR_SET}",
            "--include_source_info",
            *proto_files(),
        ]
    )
    run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{GOOGLEAPIS}",
            f"--descriptor_set_out={out / PACKAGE / TRANSCODER_DESCRIPTOR_SET}",
            "--include_imports",
            *proto_files(),
            *TRANSCODER_EXTRA_PROTOS,
        ]
    )
    root = out / PACKAGE
    # The stubs are right for callers but not strict-clean themselves (grpc is
    # untyped here, so their `type: ignore`s go unused); callers stay checked.
    for stub in sorted(root.rglob("*.pyi")):
        stub.write_text(MYPY_STUB_HEADER + stub.read_text())
    for directory in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        (directory / "__init__.py").write_text(PACKAGE_DOCSTRING if directory == root else "")
    (root / "py.typed").write_text("")


def tree(root: Path) -> set[Path]:
    return {
        path.relative_to(root)
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def gen() -> None:
    """Regenerate `cinema/` in place, removing files no proto produces any more."""
    deps()
    with tempfile.TemporaryDirectory() as scratch:
        generate(Path(scratch))
        fresh_root = Path(scratch) / PACKAGE
        fresh = tree(fresh_root)
        for stale in tree(GENERATED) - fresh:
            (GENERATED / stale).unlink()
        for relative in sorted(fresh):
            target = GENERATED / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or not filecmp.cmp(fresh_root / relative, target, shallow=False):
                shutil.copyfile(fresh_root / relative, target)
    for directory in sorted((p for p in GENERATED.rglob("*") if p.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def stale_files() -> list[str]:
    """Paths under `cinema/` that differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as scratch:
        generate(Path(scratch))
        fresh_root = Path(scratch) / PACKAGE
        fresh, committed = tree(fresh_root), tree(GENERATED)
        differing = {
            relative
            for relative in fresh & committed
            if not filecmp.cmp(fresh_root / relative, GENERATED / relative, shallow=False)
        }
        return sorted(
            f"{PACKAGE}/{relative.as_posix()}" for relative in (fresh ^ committed) | differing
        )


def check() -> None:
    """Fail unless `cinema/` is fresh and buf lint and buf breaking pass."""
    stale = stale_files()
    if stale:
        listing = "\n  ".join(stale)
        sys.exit(f"generated code is stale; run `scripts/protos.py gen`:\n  {listing}")
    deps()
    run([buf(), "lint"])
    # Only the protos module: the baseline holds it alone (googleapis as imports).
    run([buf(), "breaking", "protos", "--against", BASELINE.relative_to(REPO)])
    print("protos: generated code fresh, buf lint and buf breaking clean")


def baseline() -> None:
    """Rebuild the image buf breaking compares against; commit it with the change."""
    deps()
    run([buf(), "lint"])
    BASELINE.parent.mkdir(parents=True, exist_ok=True)
    run(
        [
            buf(),
            "build",
            "--path",
            (PROTO_ROOT / PACKAGE).relative_to(REPO),
            "--exclude-source-info",
            "-o",
            BASELINE.relative_to(REPO),
        ]
    )
    print(f"wrote {BASELINE.relative_to(REPO)}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = {"deps": deps, "gen": gen, "check": check, "baseline": baseline}
    parser.add_argument("command", choices=commands)
    commands[parser.parse_args(argv).command]()


if __name__ == "__main__":
    main()
