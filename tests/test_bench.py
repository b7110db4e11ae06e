"""bench/gpu.py works the day someone runs it on a GPU: a tiny run of the same code on the CPU."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_prepared_gpu_check_runs_every_part_in_its_cpu_mode(tmp_path):
    """bench/gpu_check.py --device cpu --tiny: every part runs at toy sizes and reports, so the
    command a GPU session runs cannot rot; a failing part is named and does not stop the rest."""
    out = tmp_path / "check"
    command = [sys.executable, str(REPO / "bench" / "gpu_check.py"), "--device", "cpu", "--tiny", "--out", str(out)]
    command += ["--work", str(tmp_path / "work")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    assert list(report["parts"]) == ["install", "inputs", "cuda_tests", "model_float32", "pipeline", "workflow"]
    assert all(part["status"] == "ok" for part in report["parts"].values()), report
    assert sorted(path.name for path in out.iterdir()) == ["gpu_check.json", "gpu_check.log", "gpu_check.md"]
    log = (out / "gpu_check.log").read_text()
    assert "===== cuda_tests: ok" in log and " passed" in log
    _check_gpu_bench(report["parts"]["model_float32"]["data"])
    assert 0 < report["parts"]["pipeline"]["data"]["overlap_efficiency"]
    workflow = report["parts"]["workflow"]["data"]
    assert workflow["images"] == 24 and "stylize_shard" in workflow["stages"]
    assert "| workflow | ok |" in (out / "gpu_check.md").read_text()
    # the inputs were made once, by their part, and shared by the later ones (the CUDA tests' too)
    made = {path.name.removesuffix("-adain-256.json") for path in (tmp_path / "work" / "inputs").glob("*.json")}
    assert report["parts"]["inputs"]["data"]["inputs"] == 3 and {"sin-2", "64-2", "full-1", "sin-6"} <= made


def test_the_gpu_plan_fits_its_budget_most_valuable_parts_first():
    """On a GPU the parts' limits add up to at most the budget (7.5 minutes), the CUDA tests and
    the float32/float16 figures come first, torch.compile last; a plan over budget is refused."""
    check = [sys.executable, str(REPO / "bench" / "gpu_check.py"), "--out", "/nonexistent", "--plan"]
    plan = json.loads(subprocess.run(check, capture_output=True, text=True, check=True, cwd=REPO).stdout)
    names = list(plan["limits"])
    assert plan["total"] <= plan["budget"] == 450
    assert names[:5] == ["install", "inputs", "cuda_tests", "sin_float32", "sin_float16"] and names[-1] == "compile"
    assert names.index("workflow") < names.index("sin_bfloat16")
    tiny = json.loads(
        subprocess.run(check + ["--tiny", "--device", "cpu"], capture_output=True, text=True, check=True).stdout
    )
    assert tiny["total"] <= tiny["budget"]
    over = subprocess.run(check[:-1] + ["--budget", "100"], capture_output=True, text=True, cwd=REPO)
    assert over.returncode != 0 and "over the budget of 100 s" in over.stderr


def test_a_failing_part_is_named_and_the_check_goes_on(tmp_path):
    sys.path.insert(0, str(REPO / "bench"))
    from gpu_check import markdown, run_part

    (tmp_path / "logs").mkdir()
    failed = run_part("broken", [sys.executable, "-c", "raise SystemExit(3)"], 30, tmp_path / "logs")
    slow = run_part("slow", [sys.executable, "-c", "import time; time.sleep(30)"], 1, tmp_path / "logs")
    fine = run_part("fine", [sys.executable, "-c", "print('{\"x\": 1}')"], 30, tmp_path / "logs")
    assert failed["status"] == "failed (exit 3)" and slow["status"] == "timed out after 1 s"
    assert fine["status"] == "ok" and fine["data"] == {"x": 1}
    table = markdown(
        {"device": "cpu", "command": "c", "date": "d", "parts": {"broken": failed, "slow": slow, "fine": fine}}
    )
    assert "failed parts: broken, slow" in table


def test_a_timed_out_part_ends_with_every_process_it_started(tmp_path):
    """A stylize job's decode workers (or an orphan holding a GPU lock) must not outlive its part."""
    import time

    sys.path.insert(0, str(REPO / "bench"))
    from gpu_check import run_part

    (tmp_path / "logs").mkdir()
    pid_file = tmp_path / "child.pid"
    spawn = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pid_file)!r}, 'w').write(str(child.pid)); time.sleep(60)"
    )
    part = run_part("spawner", [sys.executable, "-c", spawn], 3, tmp_path / "logs")
    assert part["status"] == "timed out after 3 s"
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the part's child outlived it"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"  # a zombie is dead, waiting for its parent
    except FileNotFoundError:
        return False


def _check_gpu_bench(summary: dict) -> None:
    """bench/gpu.py's figures, measured on the CPU at toy sizes."""
    assert summary["device"].startswith("CPU: ") and summary["peak_source"] == "measured float32 matrix product"
    assert set(summary["results"]) == {"sin", "64", "full", "per-image loop"}
    for name, row in summary["results"].items():
        assert row["images"] == (1 if name == "full" else 2), name
        assert row["images_per_s"] > 0 and row["tflops"] > 0 and 0 < row["share_of_peak"] < 2, (name, row)
    # the job's FLOPs are exact counts: 48.44 GFLOP per sin image
    sin = summary["results"]["sin"]
    assert abs(sin["tflops"] * sin["seconds"] * 1e3 / 2 - 48.44) < 0.01 * 48.44 + 0.5
    for dtype in ("bfloat16", "float16"):
        drift = summary["half_precision_drift"][dtype]
        assert 0 <= drift["mean_levels"] < 10 and drift["max_levels"] >= 0
