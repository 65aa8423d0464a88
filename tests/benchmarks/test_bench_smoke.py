"""The benchmark scripts keep running: `run.py --smoke` on PostgreSQL, every benchmark, no timings asserted."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.browser import require_chromium
from tests.conftest import _postgres_or_skip

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("pledge_ratio", "pledge_ratio_32", "pledge_replay_ratio", "listing_ratio", "detail_ratio", "webhook_ratio",
        "dashboard_query_ratio_max", "dashboard_first_chart_s", "dashboard_floor_first_chart_s", "export_ratio",
        "export_peak_mb_100k", "export_peak_mb_1m", "ledger_post_ratio")


def test_every_benchmark_runs_and_reports_its_baseline(tmp_path: Path) -> None:
    require_chromium()
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--out", str(out),
                           "--postgres-url", _postgres_or_skip(), "--prefix", f"kracht_smoke_{os.getpid()}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["smoke"] is True and results["database"] == "postgresql"
    assert {key for key in KEYS if key not in results} == set()
    assert results["pledge_baseline_per_s_16"] > 0 and results["pledge_per_s_16"] > 0
    # Each ratio is its figure over its baseline, measured in the same run (rounded figures reproduce it).
    for figure, baseline, ratio in (("pledge_per_s_16", "pledge_baseline_per_s_16", "pledge_ratio"),
                                    ("pledge_replay_per_s_16", "pledge_baseline_per_s_16", "pledge_replay_ratio"),
                                    ("listing_per_s", "bare_per_s", "listing_ratio"),
                                    ("webhook_per_s", "webhook_baseline_per_s", "webhook_ratio"),
                                    ("ledger_post_per_s", "ledger_post_baseline_per_s", "ledger_post_ratio"),
                                    ("export_s_1m", "export_baseline_select_s_1m", "export_ratio")):
        recomputed = results[figure] / results[baseline]
        assert abs(results[ratio] - recomputed) <= 0.05 * recomputed + 0.01, (ratio, results[ratio], recomputed)
    assert set(results["dashboard_queries"]) >= {"members_over_time", "money_flows", "pledges_per_week"}
    assert results["export_postings_1m"] > results["export_postings_100k"] > 0
