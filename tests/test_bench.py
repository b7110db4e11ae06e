"""bench/gpu.py works the day someone runs it on a GPU: a tiny run of the same code on the CPU."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_gpu_bench_runs_end_to_end_on_the_cpu():
    command = [sys.executable, str(REPO / "bench" / "gpu.py"), "--device", "cpu", "--quick", "--images", "2",
               "--loop-images", "2", "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
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
