"""benchmarks.functional runs end to end (smoke) and writes well-formed JSON; experiments.fdp_mnist
--quick runs one table end to end and writes the table, grids and the denoising figure."""

from __future__ import annotations

import json
import math
import os


def _pos(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v) and v > 0


def test_functional_benchmark_smoke(tmp_path):
    from benchmarks import functional as bench

    out = tmp_path / "bench_functional.json"
    returned = bench.main(["--smoke", "--out", str(out)])
    data = json.loads(out.read_text())
    assert data == json.loads(json.dumps(returned, default=float))
    assert {"command", "git", "versions"} <= set(data["meta"])
    rows = data["sampler"]["rows"]
    assert {(r["sde"], r["grid"], r["batch"]) for r in rows} == {("driftless", 8, 4), ("ve_pixel", 8, 4)}
    assert all(_pos(r["img_per_s"]) for r in rows) and _pos(data["sampler"]["ratios"][0]["driftless_over_ve"])
    tr = data["training"]
    for name in ("uvit", "modulation", "meta"):
        u = tr[name]
        assert u["params"] > 0 and _pos(u["train_img_s"]) and _pos(u["mflop_per_img"]) and 0 < u["frac_peak"]
    assert _pos(tr["modulation"]["time_over_uvit"]) and _pos(tr["meta"]["time_over_uvit"])
    assert [r["grid"] for r in data["inr_query"]["rows"]] == [8, 16]
    assert all(_pos(r["ns_per_point"]) for r in data["inr_query"]["rows"])


def test_fdp_mnist_quick_writes_the_table(tmp_path):
    from experiments import fdp_mnist

    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    args = ["--quick", "--no-progress", "--out-dir", str(out), "--checkpoint-dir", str(ckpt)]
    result = fdp_mnist.main(args)
    data = json.loads((out / "fdp_table5_2_quick.json").read_text())
    rows = {r["cell"]: r for r in data["rows"]}
    assert set(rows) == {"Rhat_T10", "I_T10"}
    for r in rows.values():
        assert r["nfe"] == 2 * (4 - 1) + 1  # corrector + predictor per step, denoised end
        assert _pos(r["fid"]) and 1.0 <= r["is"] <= 10.0 and os.path.getsize(r["grid"]) > 1000
        assert os.path.getsize(r["denoising_figure"]) > 1000
    assert _pos(rows["Rhat_T10"]["fid_x1.5"]) and "fid_x1.5" not in rows["I_T10"]  # ×1.5 horizon only with R̂
    assert rows["Rhat_T10"]["thesis_inception_fid"] == 19.97 and rows["I_T10"]["thesis_inception_fid"] == 40.99
    md = (out / "fdp_table5_2_quick.md").read_text()
    assert "Rhat_T10" in md and "--quick" in md
    # a second run finds every cell done and reuses its figures without training
    again = fdp_mnist.main(args)
    assert [r["fid"] for r in again["rows"]] == [r["fid"] for r in result["rows"]]
