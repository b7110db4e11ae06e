"""The package's shape: sub-packages whose imports point one way, and command-line surfaces that
answer without torch and end quietly when their reader goes away."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np

PACKAGE = Path(__file__).resolve().parents[1] / "adain"
#: The data's way, then its side roads: a module may import only its own layer or earlier ones.
LAYERS = ["files", "shards", "core", "engine", "stages", "data", "run", "evaluation", "cli"]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "adain" and parts[1] in LAYERS else None


def _imports(path: Path) -> list[str]:
    """Every adain module ``path`` imports, at the top or inside functions, as absolute names."""
    package = ["adain", *path.relative_to(PACKAGE).parent.parts]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            found += [name] if node.module else [f"{name}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [name for name in found if name.startswith("adain")]


def test_no_module_imports_a_later_stage():
    late = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _layer("adain." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        for name in _imports(path) if here else []:
            there = _layer(name)
            if there and LAYERS.index(there) > LAYERS.index(here):
                late.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not late, "\n".join(late)
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(LAYERS)


def test_the_readers_import_the_shard_format_not_the_stages():
    imported = {_layer(name) for path in (PACKAGE / "data").glob("*.py") for name in _imports(path)}
    assert "shards" in imported
    assert not imported & {"stages", "run", "evaluation", "cli"}


def test_no_tracked_source_is_hidden_by_common_ignore_patterns():
    """GitHub's Python .gitignore and ruff's default excludes drop folders named like build output."""
    hidden = {
        "build",
        "dist",
        "out",
        "tmp",
        "lib",
        "lib64",
        "eggs",
        "parts",
        "sdist",
        "var",
        "wheels",
        "env",
        "venv",
        "site-packages",
        "_build",
        "buck-out",
        "node_modules",
        "__pypackages__",
        "htmlcov",
    }
    tracked = subprocess.run(["git", "ls-files"], cwd=PACKAGE.parent, capture_output=True, text=True).stdout.split()
    assert tracked
    assert not [path for path in tracked if hidden & set(Path(path).parts[:-1])]


def test_help_and_version_answer_without_torch():
    commands = [["--help"], ["--version"]] + [
        [c, "--help"] for c in ("stylize", "weights", "inspect", "export", "status", "verify", "shapebias", "accuracy")
    ]
    for command in commands:
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "adain", *command], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, (command, result.stderr[-2000:])
        imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line]
        assert not [m for m in imported if m.split(".")[0] in ("torch", "torchvision")], command


def test_a_closed_pipe_ends_inspect_quietly(tmp_path):
    from adain.shards.format import ShardData, write_shard

    n = 6000  # a JSON report far larger than a pipe's buffer
    write_shard(
        tmp_path / "train-00000.h5",
        ShardData(
            images=np.zeros((n, 4, 4, 3), np.uint8),
            labels=np.arange(n),
            content=[f"train/n{i:08d}/x.JPEG" for i in range(n)],
            style=["p.jpg"] * n,
            wnid=[f"n{i:08d}" for i in range(n)],
            labels_clsloc=np.full(n, -1),
        ),
    )
    reader = subprocess.Popen(
        [sys.executable, "-m", "adain", "inspect", "--json", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout.readline()  # `| head -1`: one line, then the reader goes
    reader.stdout.close()
    assert reader.wait(timeout=120) == 0
    assert reader.stderr.read() == b""


def test_the_tests_mirror_the_package():
    """tests/<sub-package>/ for each sub-package's tests, tests/workflow/ for whole runs."""
    tests = Path(__file__).resolve().parent
    folders = {p.name for p in tests.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(LAYERS) | {"workflow"}, folders - set(LAYERS)
    assert {"shards", "stages", "run", "data", "workflow"} <= folders
    loose = {p.name for p in tests.glob("test_*.py")}
    assert loose == {"test_layout.py", "test_cuda.py", "test_bench.py", "test_fuzz.py"}, loose
