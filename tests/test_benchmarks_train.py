"""The ScoreNet throughput benchmark runs end to end (smoke setting) and writes well-formed JSON.

Only structure is checked (and XLA's FLOP count against the tutorial's 34 / 102 MFLOP per
image), never timings.
"""

from __future__ import annotations

import json
import math

import pytest


def _positive_finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


SMOKE = pytest.mark.xdist_group("bench_train_smoke")  # one worker runs the module fixture


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    from benchmarks import train_throughput as bench  # imported here: pulls in flax and optax

    out_path = tmp_path_factory.mktemp("bench") / "bench_train_throughput.json"
    returned = bench.main(["--quick", "--smoke", "--out", str(out_path)])
    return bench, returned, json.loads(out_path.read_text())


@SMOKE
def test_smoke_metadata(smoke):
    _, returned, data = smoke
    assert set(data) >= {"meta", "settings", "precision", "scorenet", "scorenet_plain", "speedup", "flops", "peak", "xla_flags",
                         "torch_peer", "vs_torch"}
    meta = data["meta"]
    for k in ("command", "git", "versions", "XLA_FLAGS", "compiler_options", "cpu_count", "cpu"):
        assert k in meta
    assert "--smoke" in meta["command"] and meta["compiler_options"]  # smoke compiles unoptimised, and says so
    assert data["settings"]["training"]["function"].startswith("sg.train.dsm_training")
    assert data["settings"]["preset"] == "smoke"
    assert json.loads(json.dumps(returned)) == data


@SMOKE
def test_smoke_throughput_structure(smoke):
    _, _, data = smoke
    batches = [str(b) for b in data["settings"]["batches"]]
    for key in ("scorenet", "scorenet_plain"):
        assert sorted(data[key]) == sorted(batches)
        for row in data[key].values():
            for k in ("train_img_s", "forward_img_s", "train_img_s_median", "forward_img_s_median", "train_gflops", "forward_gflops", "train_frac_peak", "train_cpu_ms_best", "train_img_per_cpu_s"):
                assert _positive_finite(row[k]), (key, k, row[k])
            assert row["reps"] >= 1
    for b in batches:
        assert _positive_finite(data["speedup"][b]["train"]) and _positive_finite(data["speedup"][b]["forward"])
    assert _positive_finite(data["peak"]["gflops"])
    if data["torch_peer"]["available"]:
        assert sorted(data["torch"]) == sorted(batches)
        for b in batches:
            assert _positive_finite(data["vs_torch"][b]["train"]) and _positive_finite(data["torch"][b]["train_img_s"])
    else:
        assert "not installed" in data["torch_peer"]["reason"] and data["vs_torch"] == {}


@SMOKE
def test_smoke_flops_match_the_tutorial_figures(smoke):
    _, _, data = smoke
    flops = data["flops"]["mflop_per_img"]
    batch = data["settings"]["batches"][0]
    for variant in ("fast", "plain"):
        # XLA's cost analysis against the 34 MFLOP/img forward and 102 MFLOP/img network
        # training step; the library's step also runs clipping, Adam and the EMA on 1.1M
        # parameters (about 20 FLOP each, 22 MFLOP a step), spread over the batch.
        assert 0.9 * 34 < flops[variant]["forward"] < 1.1 * 34, flops
        assert 0.9 * 102 < flops[variant]["train"] < 1.1 * 102 + 25 / batch, flops


@SMOKE
def test_smoke_flags_and_precision_sections(smoke):
    _, _, data = smoke
    assert "default" in data["xla_flags"]["results"]
    assert data["precision"]["max_rel_error_vs_float64"]["default"] < 1e-5


def test_profile_train_step_names_the_ops(tmp_path):
    """The per-op profile runs (batch 4, one step) and joins trace events with the HLO."""
    from benchmarks import profile_train_step as prof

    out = tmp_path / "profile.json"
    result = prof.main(["--batch", "4", "--steps", "1", "--top", "15", "--out", str(out)])
    data = json.loads(out.read_text())
    assert data == json.loads(json.dumps(result))
    assert data["settings"] == {"variant": "fast", "variant_options": {"layers": "fast"}, "batch": 4, "profiled_steps": 1}
    assert _positive_finite(data["wall_ms_per_step_unprofiled"]) and _positive_finite(data["op_ms_per_step_total"])
    assert math.isclose(sum(data["op_ms_by_category"].values()), data["op_ms_per_step_total"], rel_tol=1e-9)
    ops = data["ops"]
    assert len(ops) == 15 and all(a["ms_per_step"] >= b["ms_per_step"] for a, b in zip(ops, ops[1:]))
    # the forward and the backward of the network are both attributed, to ScoreNet's layers
    sources = " ".join(r["source"] for r in ops)
    assert "jvp(" in sources and "transpose(jvp(" in sources
    assert any(layer in sources for layer in ("conv", "tconv", "gnorm")), sources
    assert any(r["category"] == "gemm/conv (library)" for r in ops)
