"""The prepared GPU check: one command for a bare GPU machine, within 7.5 minutes on one H100.

Parts run one after another, each a process group of its own under a time limit; the limits add
up to the budget (checked before anything runs), a part that fails or runs out of time is
recorded with the tail of its output and the check goes on with the next, and a part that runs
out of time is ended with every process it started (a stylize job's decode workers and GPU lock
included). The most valuable figures come first; what is optional comes last:

1. ``install``      this repository over the machine's own torch, from wheels carried with the
                    tree (``--wheels``, made here by ``bash bench/gpu_wheels.sh``; no registry);
2. ``inputs``       every part's inputs, made once and shared (ImageNet-like JPEGs, random
                    release-format weights, painting statistics: ``bench/common.py``'s cache);
3. ``cuda_tests``   ``pytest -m cuda`` (tests/test_cuda.py: the GPU against the CPU's pixels);
4. ``sin_float32``, ``sin_float16``  ``bench/gpu.py`` on ``sin``: images/s, TFLOP/s, share of peak;
5. ``pipeline``     ``bench/pipeline.py`` with the real model on the device (which stage limits);
6. ``workflow``     one ``snakemake --resources gpu=1`` run over a synthetic ImageNet-shaped tree;
7. ``sin_bfloat16`` (with the half-precision drift), ``presets_float16`` (``64``, ``full``),
   ``sin_float16_batch256``, ``numerics_cost`` (what deterministic cuDNN costs);
8. ``compile``      ``torch.compile`` (optional: needs a C compiler; a cold compile is slow).

It writes ``gpu_check.json``, ``gpu_check.md`` (one table) and ``gpu_check.log`` (every part's
output) into ``--out`` as each part ends: three files, within what the device tool brings back.
Inputs and work files go to ``--work`` (default: a folder in /tmp).

    python3 bench/gpu_check.py --out $OUT                        # on the GPU machine
    python bench/gpu_check.py --device cpu --tiny --out /tmp/c   # every part at toy sizes (a test)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"

#: Seconds for every part together: 7.5 minutes, so that with the machine's start the check fits
#: 8 minutes of a 15-minute lease and leaves room for a rerun.
BUDGET = 450.0
#: The CPU rehearsal (``--tiny --device cpu``) on 2 cores.
TINY_BUDGET = 900.0


@dataclass
class Part:
    name: str
    command: list[str]
    limit: float
    env: dict = field(default_factory=dict)
    needs_compiler: bool = False


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
    """Run one part as a process group of its own; its output goes to ``log_dir/<name>.log``.
    On its time limit the whole group is killed (a part's children, e.g. a stylize job and its
    decode workers, never outlive it). Returns its status, seconds and, where it printed one, its
    last JSON line."""
    start = time.monotonic()
    log_path = log_dir / f"{name}.log"
    print(f"[gpu_check] {name}: {' '.join(command)} (limit {limit:.0f} s)", flush=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        try:
            stdout, _ = process.communicate(timeout=limit)
            status = "ok" if process.returncode == 0 else f"failed (exit {process.returncode})"
        except subprocess.TimeoutExpired:
            _kill_group(process)
            stdout, _ = process.communicate()
            status = f"timed out after {limit:.0f} s"
        _kill_group(process)  # anything the part left running in the background
    output = log_path.read_text(errors="replace")
    log_path.write_text((stdout or "") + output)
    seconds = round(time.monotonic() - start, 1)
    print(f"[gpu_check] {name}: {status} in {seconds} s", flush=True)
    tail = ((stdout or "") + output).strip().splitlines()[-15:]
    return {
        "status": status,
        "seconds": seconds,
        "command": " ".join(command),
        "data": _last_json(stdout or ""),
        "tail": tail if status != "ok" else [],
    }


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def install_command(wheels: Path | None) -> list[str]:
    """pip over the machine's torch: only what is missing, from the carried wheels (the test extra
    without the Slurm, S3 and Hugging Face plugins, which a lone GPU machine does not use)."""
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


def plan(args, work: Path) -> list[Part]:
    """The parts in order, with their time limits."""
    py, device, tiny = sys.executable, args.device, args.tiny
    wheels = Path(args.wheels).resolve() if args.wheels and Path(args.wheels).is_dir() else None
    images = 2 if tiny else args.images
    inputs = [py, str(BENCH / "common.py"), "--images", str(images), "--presets", "sin,64,full"]
    parts = [
        Part("install", install_command(None if tiny else wheels), 30),
        Part("inputs", inputs + (["--test-inputs"] if not tiny else []), 60 if tiny else 35),
    ]
    if tiny:  # the CUDA tests' own code, rehearsed on the CPU, on one preset
        tests = [py, "-m", "pytest", "-q", "-m", "cuda", "tests/test_cuda.py", "-k", "float32 and 64"]
        parts.append(Part("cuda_tests", tests + ["-p", "no:cacheprovider"], 240, {"ADAIN_CUDA_TEST_DEVICE": "cpu"}))
    else:  # side by side: the two workflow runs beside the rest
        tests = [py, "-m", "pytest", "-q", "-s", "-m", "cuda", "tests/test_cuda.py", "-n", "4", "--dist", "load"]
        parts.append(Part("cuda_tests", tests + ["-p", "no:cacheprovider"], 140))

    def model(name: str, limit: float, *options: str, needs_compiler: bool = False) -> Part:
        command = [py, str(BENCH / "gpu.py"), "--device", device, "--json", "--images", str(images)]
        if tiny:
            command += ["--loop-images", "2", "--batch-size", "2", "--workers", "0"]
        else:
            command += ["--workers", "12"]
        return Part(name, command + list(options), limit, needs_compiler=needs_compiler)

    if tiny:  # the suite's one run of bench/gpu.py: every preset, the loop and the drift
        parts.append(model("model_float32", 150, "--presets", "sin,64,full"))
    else:
        parts.append(model("sin_float32", 25, "--presets", "sin", "--no-drift", "--batch-size", "64"))
        parts.append(model("sin_float16", 25, "--presets", "sin", "--no-drift", "--no-loop", "--dtype", "float16"))
    pipeline = [py, str(BENCH / "pipeline.py"), "--json", "--quick", "--presets", "sin", "--device", device]
    pipeline += ["--scale", "0.01", "--repeat", "1", "--workers", "1"] if tiny else ["--workers", "12", "--repeat", "1"]
    parts.append(Part("pipeline", pipeline, 180 if tiny else 35))
    count, classes, paintings = (24, 4, 3) if tiny else (args.workflow_images, 100, 500)
    workflow = [py, str(BENCH / "gpu_workflow.py"), "--out", str(work / "workflow"), "--images", str(count)]
    workflow += ["--classes", str(classes), "--paintings", str(paintings), "--device", device]
    parts.append(Part("workflow", workflow + (["--tiny"] if tiny else []), 240 if tiny else 55))
    if not tiny:
        parts += [
            model("sin_bfloat16", 20, "--presets", "sin", "--no-loop", "--dtype", "bfloat16"),
            model("presets_float16", 25, "--presets", "64,full", "--no-drift", "--no-loop", "--dtype", "float16"),
            model(
                "sin_float16_batch256",
                20,
                "--presets",
                "sin",
                "--no-drift",
                "--no-loop",
                "--dtype",
                "float16",
                "--batch-size",
                "256",
            ),
            model(
                "numerics_cost", 15, "--presets", "", "--no-drift", "--no-loop", "--numerics-cost", "--images", "256"
            ),
            model(
                "compile",
                25,
                "--presets",
                "sin",
                "--no-drift",
                "--no-loop",
                "--dtype",
                "float16",
                "--compile",
                needs_compiler=True,
            ),
        ]
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
            if data.get("numerics_cost"):
                figures = "; ".join(filter(None, [figures, json.dumps(data["numerics_cost"])]))
        elif "stages" in data:  # bench/gpu_workflow.py
            figures = "; ".join(f"{k} {v}" for k, v in data["stages"].items())
        elif data:
            figures = json.dumps(data)[:300]
        lines.append(f"| {name} | {part['status']} | {part['seconds']} | {figures} |")
    failed = [name for name, part in report["parts"].items() if not part["status"].startswith(("ok", "skipped"))]
    lines += ["", f"failed parts: {', '.join(failed) if failed else 'none'}"]
    return "\n".join(lines) + "\n"


def _not_run(part: Part, why: str) -> dict:
    return {"status": why, "seconds": 0, "command": " ".join(part.command), "data": None, "tail": []}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="a folder for gpu_check.json, gpu_check.md and gpu_check.log")
    parser.add_argument("--work", default="", help="inputs and work files (default: a new folder in /tmp)")
    parser.add_argument("--device", default="cuda", help="cuda | cuda:N | cpu")
    parser.add_argument("--tiny", action="store_true", help="every part at toy sizes (with --device cpu: the test)")
    parser.add_argument("--wheels", default=str(REPO / ".whl"), help="the carried wheels (bench/gpu_wheels.sh)")
    parser.add_argument("--images", type=int, default=1024, help="images per preset of the bench/gpu.py parts")
    parser.add_argument("--workflow-images", type=int, default=5000, help="images of the workflow part")
    parser.add_argument("--budget", type=float, default=0, help=f"seconds for all parts (default {BUDGET:.0f})")
    parser.add_argument("--only", default="", help="comma-separated part names to run (default: all)")
    parser.add_argument("--plan", action="store_true", help="print the parts and their limits as JSON; run nothing")
    args = parser.parse_args()
    budget = args.budget or (TINY_BUDGET if args.tiny else BUDGET)
    work = Path(args.work or tempfile.mkdtemp(prefix="adain-gpu-check-")).resolve()
    parts = plan(args, work)
    wanted = {name for name in args.only.split(",") if name}
    if wanted:
        parts = [part for part in parts if part.name in wanted or part.name == "install"]
    total = sum(part.limit for part in parts)
    if args.plan:
        print(json.dumps({"budget": budget, "limits": {part.name: part.limit for part in parts}, "total": total}))
        return 0
    if total > budget:
        raise SystemExit(f"the parts' limits add up to {total:.0f} s, over the budget of {budget:.0f} s")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    report = {
        "device": args.device,
        "command": "python bench/gpu_check.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "budget_seconds": budget,
        "parts": {},
    }
    env = {"ADAIN_BENCH_INPUTS": str(work / "inputs"), "PYTHONUNBUFFERED": "1"}
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    for part in parts:
        if part.needs_compiler and compiler is None:
            report["parts"][part.name] = _not_run(part, "skipped: no C compiler (torch.compile needs one)")
        else:
            report["parts"][part.name] = run_part(
                part.name, part.command, part.limit, work / "logs", {**env, **part.env}
            )
        if part.name == "install" and report["parts"]["install"]["status"] == "ok":
            report["device"] = _device_name(args.device)
        (out / "gpu_check.json").write_text(json.dumps(report, indent=1))
        (out / "gpu_check.md").write_text(markdown(report))
        with open(out / "gpu_check.log", "a") as log:
            path = work / "logs" / f"{part.name}.log"
            log.write(f"===== {part.name}: {report['parts'][part.name]['status']}\n")
            log.write(path.read_text(errors="replace")[-200_000:] if path.exists() else "")
    failed = [name for name, part in report["parts"].items() if not part["status"].startswith(("ok", "skipped"))]
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
