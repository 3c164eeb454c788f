"""The sampler benchmark runs end to end (smoke setting) and writes well-formed JSON.

Only structure and sanity are checked here, never timings.
"""

from __future__ import annotations

import json
import math

import pytest

SMOKE_STEPS = 10
pytestmark = pytest.mark.xdist_group("bench_samplers_smoke")  # one worker runs the module fixture


def _positive_finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def _nonnegative_finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    # Imported here, not at collection: the benchmark module pulls in flax.
    from benchmarks import samplers as bench

    out_path = tmp_path_factory.mktemp("bench") / "bench_samplers.json"
    returned = bench.main(["--quick", "--smoke", "--out", str(out_path)])
    assert not list(out_path.parent.glob("*.partial.json"))  # the checkpoint is removed at the end
    return bench, returned, json.loads(out_path.read_text())


def test_smoke_json_metadata(smoke):
    _, returned, data = smoke
    assert set(data) >= {"meta", "settings", "results", "em_ratio", "em_ratio_grid", "overhead", "chunking"}
    meta = data["meta"]
    for k in ("command", "git", "versions", "devices", "cpu"):
        assert k in meta
    assert set(meta["git"]) == {"commit", "dirty", "dirty_files", "toplevel"}
    assert "--smoke" in meta["command"]
    assert isinstance(meta["devices"], list) and meta["devices"]
    assert data["settings"]["preset"] == "smoke"
    assert meta["complete"] is True
    assert data["settings"]["steps"] == [SMOKE_STEPS]
    assert json.loads(json.dumps(returned)) == data


def test_smoke_results_structure(smoke):
    bench, _, data = smoke
    settings = data["settings"]
    expected = {(s, m, b) for s in bench.SCORES for m in settings["methods"] for b in settings["batches"]}
    got = [(r["score"], r["method"], r["batch"]) for r in data["results"]]
    assert sorted(got) == sorted(expected)  # one entry per configuration
    for r in data["results"]:
        assert r["steps"] == SMOKE_STEPS and not r["adaptive"]
        assert r["nfe_per_sample"] == SMOKE_STEPS  # Euler–Maruyama: one score evaluation per step
        assert r["num_steps"] == SMOKE_STEPS
        assert r["reps"] == len(r["times_s"]) >= 1
        assert all(_positive_finite(t) for t in r["times_s"])
        for k in ("median_s", "min_s", "img_per_s", "img_per_s_best", "nfe_per_s", "nfe_per_s_best", "first_call_s"):
            assert _positive_finite(r[k]), (k, r[k])
        # Zero when this configuration was already compiled earlier in the same process.
        assert _nonnegative_finite(r["compile_s"])
        assert r["nfe_per_s"] == pytest.approx(r["img_per_s"] * r["nfe_per_sample"])
        assert r["samples_finite"] is True


def test_smoke_em_ratio(smoke):
    bench, _, data = smoke
    ratios = data["em_ratio"]
    assert [r["score"] for r in ratios] == list(bench.SCORES)
    for r in ratios:
        assert r["steps"] == SMOKE_STEPS and r["reps"] == 1
        for k in ("diffrax_min_s", "scan_min_s", "diffrax_median_s", "scan_median_s",
                  "ratio_min", "ratio_median", "ratio_paired_median"):
            assert _positive_finite(r[k]), (k, r[k])
        assert r["target"] == bench.RATIO_TARGET and r["headline"] in r
        assert isinstance(r["within_target"], bool)  # its value is a timing: not asserted
    assert len(data["em_ratio_grid"]) == len(bench.SCORES)
    for r in data["em_ratio_grid"]:
        for k in ("ratio_paired_median", "ratio_min", "ratio_median"):
            assert _positive_finite(r[k]), (k, r[k])


def test_smoke_overhead_section(smoke):
    bench, _, data = smoke
    ov = data["overhead"]
    assert set(ov["times"]) >= {"sample_scan", "sample_diffrax", "bare_scan", "minimal_diffeqsolve"}
    assert ("diffusionjax" in ov["times"]) == ov["peer"]["available"]
    if not ov["peer"]["available"]:
        assert "not installed" in ov["peer"]["reason"]
    for t in ov["times"].values():
        assert _positive_finite(t["best_ms"]) and _positive_finite(t["w1"])
    for k in ("scan_over_bare_scan", "diffrax_over_minimal_diffeqsolve", "minimal_diffeqsolve_over_bare_scan"):
        assert _positive_finite(ov["ratios"][k])
    assert isinstance(ov["targets"]["scan_over_bare_scan"]["met"], bool)  # a timing: its value is not asserted
    assert ov["targets"]["diffrax"]["bound_over_minimal_diffeqsolve"] >= bench.OVERHEAD_TARGET


def test_smoke_chunking_section(smoke):
    _, _, data = smoke
    ch = data["chunking"]
    assert set(ch["rows"]) == {"none", "2"}
    assert ch["rows"]["none"]["chunk_size"] is None and ch["rows"]["2"]["chunk_size"] == 2
    for r in ch["rows"].values():
        assert _positive_finite(r["score_evals_per_s"]) and _positive_finite(r["speedup_vs_whole_batch"])


def test_table_includes_adaptive_rows(smoke):
    bench, _, data = smoke
    adaptive = dict(data["results"][0], method="ode", steps=None, adaptive=True, nfe_per_sample=97)
    table = bench.format_tables(dict(data, results=data["results"] + [adaptive]))
    assert "steps=adaptive" in table and "ode" in table
    for score in bench.SCORES:
        assert f"score={score}  steps={SMOKE_STEPS}" in table
    assert "euler_maruyama_scan" in table and "min ratio" in table and "over the grid" in table
    assert "Overhead" in table and "Chunked score evaluation" in table


def test_smoke_few_step_section(smoke):
    """The few-step section: one row per (sampler, NFE budget), the actual NFE, and a positive
    per-evaluation overhead against the bare network scan."""
    _, _, data = smoke
    rows = data["few_step"]["rows"]
    assert [(r["method"], r["nfe_budget"], r["nfe"]) for r in rows] == [("ddim", 5, 5), ("dpmpp_2m", 5, 5)]
    assert all(_positive_finite(r["overhead_per_evaluation"]) and _positive_finite(r["best_ms"]) for r in rows)
