"""experiments.likelihood_mnist --quick (score_mnist's quick model, trained first when missing)
and benchmarks.likelihood --smoke run end to end and write well-formed results."""

import json
import math


def test_likelihood_benchmark_smoke(tmp_path):
    from benchmarks import likelihood as bench

    out = tmp_path / "bench_likelihood.json"
    bench.main(["--smoke", "--out", str(out)])
    data = json.loads(out.read_text())
    assert {"command", "git", "versions"} <= set(data["meta"])
    rows = data["results"]["mlp"]
    assert set(rows) == {"exact", "hutchinson_1", "hutchinson_4"}
    for r in rows.values():
        assert r["s_per_image"] > 0 and r["nfe"] > 0 and math.isfinite(r["mean_logp_per_dim"])
    assert rows["hutchinson_1"]["time_per_image_over_hutchinson_1"] == 1.0


def test_likelihood_mnist_quick(tmp_path):
    from experiments import likelihood_mnist

    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    likelihood_mnist.main(["--quick", "--no-progress", "--out-dir", str(out), "--checkpoint-dir", str(ckpt)])
    data = json.loads((out / "likelihood_mnist_quick.json").read_text())
    (row,) = data["rows"]
    assert row["n"] == 16 and len(data["bits_per_dim"]) == 16
    # an (almost) untrained model: far above the anchor, but a finite, positive bits/dim
    assert 1.0 < row["bpd"] < 30.0 and row["ci95"] > 0 and row["nfe"] > 0
    assert "| ScoreNet" in (out / "likelihood_mnist_quick.md").read_text()
