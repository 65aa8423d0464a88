"""The benchmark scripts keep running (tiny sizes, no timings asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmarks_run_and_report_ratios(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--out", str(out)],
                   check=True, cwd=ROOT, capture_output=True, timeout=300)
    results = json.loads(out.read_text())
    assert results["smoke"] is True
    assert results["ledger_post_per_s"] > 0
    assert results["ledger_post_baseline_per_s"] > 0
    # The ratio is computed from the unrounded rates; the rounded ones reproduce it to within rounding.
    recomputed = results["ledger_post_per_s"] / results["ledger_post_baseline_per_s"]
    assert abs(results["ledger_post_ratio"] - recomputed) <= 0.01 * recomputed + 0.001
    assert results["export_postings"] > 1_000 and results["export_peak_mb"] > 0
    recomputed = results["export_s"] / results["export_baseline_select_s"]
    assert abs(results["export_ratio"] - recomputed) <= 0.05 * recomputed + 0.01
