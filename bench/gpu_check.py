"""The prepared GPU check: one command for a bare GPU machine, about 8 minutes on one H100.

Parts, each a subprocess with its own time limit; a failed or timed-out part is recorded and the
check goes on with the next:

1. ``install``   this repository over the machine's own torch, from wheels carried with the tree
                 (``--wheels``, made here by ``bash bench/gpu_wheels.sh``; no registry needed);
2. ``cuda_tests`` ``pytest -m cuda`` (tests/test_cuda.py: GPU against CPU pixels);
3. ``model``     ``bench/gpu.py``: per preset, float32 / bfloat16 / float16, a batch sweep,
                 ``channels_last`` off and ``compile`` on;
4. ``pipeline``  ``bench/pipeline.py`` with the real model on the device (which stage limits);
5. ``workflow``  one ``snakemake --resources gpu=1`` run over a synthetic ImageNet-shaped tree
                 (ImageNet's size mix, ``--classes`` folders), images/s per stage from the run's
                 own records.

It writes ``gpu_check.json`` and ``gpu_check.md`` (one table) into ``--out`` as each part ends.

    python bench/gpu_check.py --out $OUT                         # on the GPU machine
    python bench/gpu_check.py --device cpu --tiny --out /tmp/c   # every part at toy sizes (a test)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"


def _last_json(text: str) -> dict | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None


def run_part(name: str, command: list[str], limit: float, log_dir: Path, env: dict | None = None) -> dict:
    """Run one part; its output goes to ``log_dir/<name>.log``. Returns its status, seconds and,
    where it printed one, its last JSON line."""
    start = time.monotonic()
    log_path = log_dir / f"{name}.log"
    print(f"[gpu_check] {name}: {' '.join(command)} (limit {limit:.0f} s)", flush=True)
    try:
        result = subprocess.run(
            command,
            check=False,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=limit,
            env={**os.environ, **(env or {})},
        )
        output = result.stdout + result.stderr
        status = "ok" if result.returncode == 0 else f"failed (exit {result.returncode})"
        data = _last_json(result.stdout)
    except subprocess.TimeoutExpired as error:
        output = (error.stdout or b"").decode(errors="replace") + (error.stderr or b"").decode(errors="replace")
        status, data = f"timed out after {limit:.0f} s", None
    log_path.write_text(output)
    seconds = round(time.monotonic() - start, 1)
    print(f"[gpu_check] {name}: {status} in {seconds} s", flush=True)
    tail = output.strip().splitlines()[-15:]
    return {
        "status": status,
        "seconds": seconds,
        "command": " ".join(command),
        "data": data,
        "tail": tail if status != "ok" else [],
    }


def install_command(wheels: Path | None) -> list[str]:
    """pip over the machine's torch: only what is missing, from the carried wheels (the test extra
    without the Slurm plugin, which a lone GPU machine does not use and which brings pandas)."""
    if wheels is None:  # already installed (a developer's venv, CI): check that it imports
        return [
            sys.executable,
            "-c",
            "import adain, snakemake, kornia, h5py, webdataset; print('{\"installed\": true}')",
        ]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-index",
        "--find-links",
        str(wheels),
        "-e",
        str(REPO),
        "webdataset",
    ]


def workflow_command(out: Path, images: int, classes: int, paintings: int, device: str, tiny: bool) -> list[str]:
    return [
        sys.executable,
        str(BENCH / "gpu_workflow.py"),
        "--out",
        str(out),
        "--images",
        str(images),
        "--classes",
        str(classes),
        "--paintings",
        str(paintings),
        "--device",
        device,
    ] + (["--tiny"] if tiny else [])


def plan(args, out: Path) -> list[tuple[str, list[str], float, dict]]:
    """The parts: (name, command, time limit in seconds, environment)."""
    py, device, tiny = sys.executable, args.device, args.tiny
    wheels = Path(args.wheels).resolve() if args.wheels and Path(args.wheels).is_dir() else None
    parts = [("install", install_command(None if tiny else wheels), 40, {})]
    if tiny:  # the CUDA tests' own code, rehearsed on the CPU, on one preset
        parts.append(
            (
                "cuda_tests",
                [
                    py,
                    "-m",
                    "pytest",
                    "-q",
                    "-m",
                    "cuda",
                    "tests/test_cuda.py",
                    "-k",
                    "float32 and 64",
                    "-p",
                    "no:cacheprovider",
                ],
                300,
                {"ADAIN_CUDA_TEST_DEVICE": "cpu"},
            )
        )
    else:
        parts.append(
            (
                "cuda_tests",
                [py, "-m", "pytest", "-q", "-s", "-m", "cuda", "tests/test_cuda.py", "-p", "no:cacheprovider"],
                120,
                {},
            )
        )
    model = [py, str(BENCH / "gpu.py"), "--device", device, "--json"]
    if tiny:  # with the half-precision drift: the suite's one run of bench/gpu.py
        model += ["--quick", "--images", "2", "--loop-images", "2", "--batch-size", "2", "--workers", "0"]
        parts.append(("model_float32", model, 180, {}))
    else:
        for dtype in ("float32", "bfloat16", "float16"):
            parts.append(
                (
                    f"model_{dtype}",
                    model
                    + ["--no-drift", "--dtype", dtype, "--images", "1024", "--batch-size", "64", "--workers", "12"],
                    30,
                    {},
                )
            )
        for batch in (16, 256):
            parts.append(
                (
                    f"model_float16_batch{batch}",
                    model
                    + [
                        "--no-drift",
                        "--dtype",
                        "float16",
                        "--images",
                        "1024",
                        "--batch-size",
                        str(batch),
                        "--workers",
                        "12",
                    ],
                    25,
                    {},
                )
            )
        parts.append(
            (
                "model_float16_compile",
                model
                + ["--no-drift", "--dtype", "float16", "--images", "1024", "--batch-size", "64", "--workers", "12"]
                + ["--compile"],
                45,
                {},
            )
        )
    pipeline = [py, str(BENCH / "pipeline.py"), "--json", "--quick", "--presets", "sin", "--device", device]
    pipeline += ["--scale", "0.01", "--repeat", "1", "--workers", "1"] if tiny else ["--workers", "12", "--repeat", "1"]
    parts.append(("pipeline", pipeline, 240 if tiny else 60, {}))
    images, classes, paintings = (24, 4, 3) if tiny else (args.workflow_images, 100, 500)
    parts.append(
        (
            "workflow",
            workflow_command(out / "workflow", images, classes, paintings, device, tiny),
            300 if tiny else 120,
            {},
        )
    )
    return parts


def markdown(report: dict) -> str:
    lines = [
        f"# GPU check: {report['device']}",
        "",
        f"`{report['command']}`, {report['date']}",
        "",
        "| part | status | seconds | figures |",
        "|---|---|---:|---|",
    ]
    for name, part in report["parts"].items():
        figures = ""
        data = part.get("data") or {}
        if "results" in data:  # bench/gpu.py
            figures = "; ".join(
                f"{k} {v['images_per_s']} img/s ({v.get('share_of_peak') or '?'} of peak)"
                for k, v in data["results"].items()
            )
        elif "stages" in data:  # bench/gpu_workflow.py
            figures = "; ".join(f"{k} {v}" for k, v in data["stages"].items())
        elif data:
            figures = json.dumps(data)[:300]
        lines.append(f"| {name} | {part['status']} | {part['seconds']} | {figures} |")
    failed = [name for name, part in report["parts"].items() if part["status"] != "ok"]
    lines += ["", f"failed parts: {', '.join(failed) if failed else 'none'}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="a folder for gpu_check.json, gpu_check.md and the parts' logs")
    parser.add_argument("--device", default="cuda", help="cuda | cuda:N | cpu")
    parser.add_argument("--tiny", action="store_true", help="every part at toy sizes (with --device cpu: the test)")
    parser.add_argument("--wheels", default=str(REPO / ".whl"), help="the carried wheels (bench/gpu_wheels.sh)")
    parser.add_argument("--workflow-images", type=int, default=8000, help="images of the workflow part")
    parser.add_argument("--budget", type=float, default=470, help="seconds for all parts (8 minutes with start-up)")
    parser.add_argument("--only", default="", help="comma-separated part names to run (default: all)")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    report = {
        "device": args.device,
        "command": "python bench/gpu_check.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "parts": {},
    }
    wanted = {name for name in args.only.split(",") if name}
    deadline = time.monotonic() + args.budget
    for name, command, limit, env in plan(args, out):
        if wanted and name not in wanted and name.split("_")[0] not in wanted:
            continue
        left = deadline - time.monotonic()
        if left < 5 and not args.tiny:
            report["parts"][name] = {
                "status": "not run: the budget was spent",
                "seconds": 0,
                "command": " ".join(command),
                "data": None,
                "tail": [],
            }
            continue
        report["parts"][name] = run_part(name, command, limit if args.tiny else min(limit, left), out / "logs", env)
        if name == "install" and report["parts"][name]["status"] == "ok":
            report["device"] = _device_name(args.device)
        (out / "gpu_check.json").write_text(json.dumps(report, indent=1))
        (out / "gpu_check.md").write_text(markdown(report))
    failed = [name for name, part in report["parts"].items() if part["status"] != "ok"]
    print(markdown(report))
    return 1 if failed else 0


def _device_name(device: str) -> str:
    code = (
        f"import torch; d = torch.device({device!r}); "
        "print(torch.cuda.get_device_name(d) if d.type == 'cuda' else 'CPU', torch.__version__)"
    )
    try:
        return (
            subprocess.run(
                [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
            ).stdout.strip()
            or device
        )
    except subprocess.SubprocessError:
        return device


if __name__ == "__main__":
    sys.exit(main())
