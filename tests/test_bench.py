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
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    assert list(report["parts"]) == ["install", "cuda_tests", "model_float32", "pipeline", "workflow"]
    assert all(part["status"] == "ok" for part in report["parts"].values()), report
    assert "passed" in (out / "logs" / "cuda_tests.log").read_text()
    _check_gpu_bench(report["parts"]["model_float32"]["data"])
    assert 0 < report["parts"]["pipeline"]["data"]["overlap_efficiency"]
    workflow = report["parts"]["workflow"]["data"]
    assert workflow["images"] == 24 and "stylize_shard" in workflow["stages"]
    assert "| workflow | ok |" in (out / "gpu_check.md").read_text()


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
