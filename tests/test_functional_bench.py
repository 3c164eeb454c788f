"""benchmarks.functional runs end to end (smoke) and writes well-formed JSON; experiments.fdp_mnist
--quick runs one table end to end and writes the table, grids and the denoising figure."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil

import pytest


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
    assert set(rows) == {"Rhat_T10"}  # quick: R̂ only (R = I is the same code with covariance None)
    r = rows["Rhat_T10"]
    assert r["nfe"] == 2 * (4 - 1) + 1  # corrector + predictor per step, denoised end
    assert _pos(r["fid"]) and 1.0 <= r["is"] <= 10.0 and os.path.getsize(r["grid"]) > 1000
    assert os.path.getsize(r["denoising_figure"]) > 1000
    assert _pos(r["fid_x1.5"]) and r["thesis_inception_fid"] == 19.97
    full = {c.name: c for c in fdp_mnist.table_cells(fdp_mnist.Config())}
    assert set(full) == {"Rhat_T10", "Rhat_T20", "Rhat_T100", "I_T10", "I_T20", "I_T100"}
    assert full["Rhat_T20"].horizon_scale == 1.5 and full["I_T20"].horizon_scale == 0.0  # ×1.5 only with R̂
    md = (out / "fdp_table5_2_quick.md").read_text()
    assert "Rhat_T10" in md and "--quick" in md
    # the finished cell is kept beside the results (committed with them), with its provenance
    cell = json.loads((out / "fdp_cells_quick" / "Rhat_T10.json").read_text())
    assert cell["row"]["fid"] == r["fid"] and set(cell["row"]["computed_at"]) == {"commit", "dirty", "date"}
    assert "Rhat_T10 trained and measured at" in md
    # a second run finds every cell done and reuses its figures without training, even with the
    # checkpoints gone (a fresh checkout) and another checkpoint folder (it is never created)
    shutil.rmtree(ckpt)
    again = fdp_mnist.main([*args[:-1], str(tmp_path / "other")])
    assert not (tmp_path / "other").exists()
    assert [r["fid"] for r in again["rows"]] == [r["fid"] for r in result["rows"]]


def test_fdp_mnist_quick_table_5_1_then_meta_reuses_the_shared_cell(tmp_path):
    """Table 5.1 (general SDE; in quick mode the modulation network with coloured noise: the
    U-ViT path is the 5.2 and 5.3 tests'), also sampled on a 48×48 grid and super-resolving 32 → 48; then the
    meta table trains only the meta-learning baseline, reusing the modulation cell."""
    from experiments import fdp_mnist

    out, ckpt = tmp_path / "out", tmp_path / "ckpt"
    args = ["--quick", "--no-progress", "--out-dir", str(out), "--checkpoint-dir", str(ckpt)]
    fdp_mnist.main(["--table", "5.1", *args])
    rows = {r["cell"]: r for r in json.loads((out / "fdp_table5_1_quick.json").read_text())["rows"]}
    assert set(rows) == {"modulation_coloured"}
    mod = rows["modulation_coloured"]
    assert mod["thesis_inception_fid"] == 26.01
    assert mod["nfe"] == 2 * (4 - 1) + 1 and _pos(mod["fid"]) and mod["params"] > 0 and _pos(mod["s_per_step"])
    assert all(_pos(mod[f"mse_t{f:g}"]) for f in fdp_mnist.MSE_FRACTIONS)
    assert _pos(mod["fid_48x48"]) and 1.0 <= mod["is_48x48"] <= 10.0 and os.path.getsize(mod["grid_48x48"]) > 1000
    assert mod["grid_48x48"].endswith("fdp_table5_1_quick_modulation_coloured_48x48.png")
    assert os.path.getsize(mod["superres_grid"]) > 1000 and 1.0 <= mod["superres_is"] <= 10.0
    assert mod["superres_coarse_mse"] < 0.01  # the known modes are kept (all but the coarse Nyquist line)

    fdp_mnist.main(["--table", "meta", *args])
    meta_rows = {r["cell"]: r for r in json.loads((out / "fdp_meta_quick.json").read_text())["rows"]}
    assert set(meta_rows) == {"modulation_coloured", "meta_coloured"}
    assert meta_rows["modulation_coloured"]["fid"] == mod["fid"]  # reused, not retrained
    assert meta_rows["meta_coloured"]["train_steps_this_run"] == 10 and _pos(meta_rows["meta_coloured"]["fid"])
    assert "fid_48x48" not in meta_rows["meta_coloured"]  # the baseline's fine grid is opt-in (--fine-grid-meta)
    assert "s/step" in (out / "fdp_meta_quick.md").read_text()


def test_fdp_mnist_quick_table_5_3_uses_the_geometric_grid(tmp_path):
    from experiments import fdp_mnist

    out = tmp_path / "out"
    fdp_mnist.main(["--table", "5.3", "--quick", "--no-progress", "--out-dir", str(out), "--checkpoint-dir", str(tmp_path / "c")])
    (row,) = json.loads((out / "fdp_table5_3_quick.json").read_text())["rows"]
    assert row["cell"] == "VE_T10" and row["covariance"] == "estimated" and row["nfe"] == 7 and _pos(row["fid"])
    assert "fid_48x48" not in row  # a U-ViT is tied to its grid
    cells = fdp_mnist.table_cells(fdp_mnist.Config(table="5.3"))
    assert [(c.T, c.time_sampling, c.grid) for c in cells] == [(20.0, "log_uniform", "geometric"),
                                                              (100.0, "log_uniform", "geometric"),
                                                              (1000.0, "log_uniform", "geometric")]
    assert [c.name for c in fdp_mnist.table_cells(fdp_mnist.Config(table="5.1"))] == [
        "modulation_white", "modulation_coloured", "uvit_white", "uvit_coloured"]
    with pytest.raises(ValueError, match="unknown table"):
        fdp_mnist.main(["--table", "5.4", "--quick"])


def test_fdp_mnist_sampling_resumes_at_its_next_block(tmp_path, monkeypatch):
    """Finished sampling blocks are kept under the cell's checkpoint folder: a rerun draws only
    the missing ones, with the same keys, so the samples are the same; another training step
    (or signature) samples afresh."""
    import jax.numpy as jnp

    from experiments import fdp_mnist
    from experiments._cli import xla_fast_compile
    from sdegen_jax import functional as F

    cfg = fdp_mnist.Config(chunk_size=4, sample_steps=3, checkpoint_dir=str(tmp_path), progress=False)
    cell = fdp_mnist.Cell("c", "driftless", "identity", 1.0, "uvit", "uniform")
    sde = F.DriftlessSDE((8, 8, 1), None, prior_mean=jnp.zeros((8, 8, 1)), T=1.0)

    def denoiser(x, t):
        return 0.5 * x

    calls = []
    real = fdp_mnist.sg.sample_with_info
    monkeypatch.setattr(fdp_mnist.sg, "sample_with_info", lambda *a, **k: calls.append(a[4]) or real(*a, **k))
    with xla_fast_compile():  # three small compiles (each call builds its score closure)
        x, nfe, seconds = fdp_mnist.sample_blocks(cfg, cell, sde, denoiser, 10, "", 7)
        assert x.shape == (10, 8, 8, 1) and calls == [4, 4, 4] and nfe == 2 * (3 - 1) + 1 and _pos(seconds)
        (folder,) = (tmp_path / "c" / "samples").iterdir()
        assert sorted(p.name for p in folder.iterdir()) == ["block0000.npz", "block0001.npz", "block0002.npz"]
        (folder / "block0001.npz").unlink()  # interrupted while drawing block 1
        calls.clear()
        again, nfe_again, _ = fdp_mnist.sample_blocks(cfg, cell, sde, denoiser, 10, "", 7)
        assert calls == [4] and nfe_again == nfe
        assert (again == x).all()
        calls.clear()
        fdp_mnist.sample_blocks(cfg, cell, sde, denoiser, 10, "", 8)  # retrained further: sampled afresh
        assert calls == [4, 4, 4]


def test_fdp_mnist_refuses_to_resume_a_cell_trained_with_other_settings(tmp_path, capsys):
    """A cell's checkpoints record the settings they were trained with: a rerun with another
    training setting (here the meta baseline's rate clip) raises and names the field, a rerun
    that changes only sampling or the step count resumes, and an old folder without the record
    resumes with a note."""
    from experiments import fdp_mnist
    from experiments._cli import check_resumable

    cfg = fdp_mnist.Config(table="meta")
    (cell,) = [c for c in fdp_mnist.table_cells(cfg) if c.model == "meta"]
    folder = str(tmp_path / cell.name)
    check_resumable(folder, fdp_mnist._training_settings(cfg, cell), has_checkpoint=False)
    same = dataclasses.replace(cfg, sample_steps=7, num_samples=3, meta_train_steps=400, table="5.1")
    check_resumable(folder, fdp_mnist._training_settings(same, cell), has_checkpoint=True)
    other = dataclasses.replace(cfg, inner_lr_range=(-5.0, 5.0))
    with pytest.raises(ValueError, match=r"other settings \(inner_lr_range differ.*--fresh"):
        check_resumable(folder, fdp_mnist._training_settings(other, cell), has_checkpoint=True)
    # The U-ViT's training does not depend on the meta baseline's settings.
    uvit = fdp_mnist.Cell("uvit_white", "general", "white", 1.0, "uvit", "uniform")
    check_resumable(str(tmp_path / "u"), fdp_mnist._training_settings(cfg, uvit), has_checkpoint=False)
    check_resumable(str(tmp_path / "u"), fdp_mnist._training_settings(other, uvit), has_checkpoint=True)
    check_resumable(str(tmp_path / "legacy"), fdp_mnist._training_settings(cfg, uvit), has_checkpoint=True)
    assert "does not record the settings" in capsys.readouterr().out


def test_fdp_meta_stability_quick_probes_every_arm_from_the_same_start(tmp_path):
    from experiments import fdp_meta_stability

    out = tmp_path / "out"
    args = ["--quick", "--no-progress", "--out-dir", str(out), "--checkpoint-dir", str(tmp_path / "ckpt")]
    res = fdp_meta_stability.main(args)
    arms = ("free", "clipped", "slow")
    rows = {(r["arm"], r["step"]): r for r in res["rows"]}
    assert set(rows) == {(a, s) for a in arms for s in (0, 3, 6)}
    # Same start: at step 0 the arms' rates and inner fits are equal (neither range binds).
    for arm in arms[1:]:
        for k in ("negative_rates", "min_rate", "max_rate", "fit_ratio_T"):
            assert rows[arm, 0][k] == rows["free", 0][k], (arm, k)
    assert rows["free", 0]["negative_rates"] == 0 and rows["free", 0]["min_rate"] == pytest.approx(1e-2)
    assert rows["slow", 3]["lr"] == 5e-5 and rows["clipped", 3]["lr"] == 5e-4
    for (arm, step), r in rows.items():
        assert 0 < r["fit_ratio_T"] < 10 and r["num_rates"] == rows["free", 0]["num_rates"]
        if step:
            assert math.isfinite(r["loss"]) and r["grad_norm"] > 0
    growth = res["weight_growth"]
    assert [g["arm"] for g in growth] == list(arms) and all(g["step"] == 6 for g in growth)
    depth = fdp_meta_stability.cell_config(fdp_meta_stability.Config(quick=True), "free").siren_depth
    names = [f"siren.weights.{i}" for i in range(depth)] + ["siren.out_w"]
    assert all(list(g) == ["arm", "step", *names] and all(0.5 < g[n] < 2 for n in names) for g in growth)
    md = (out / "fdp_meta_stability_quick.md").read_text()
    assert "| free | [-5, 5] | 0.0005 | 6 |" in md and "| slow | [0, 1] | 5e-05 | 6 |" in md
    assert "| arm | step | weights.0 | weights.1 |" in md
    for name in ("fdp_meta_stability_quick_loss.png", "fdp_meta_stability_quick_grad_norm.png"):
        assert (out / name).stat().st_size > 0
    # A rerun resumes: every probe done, the final state restored from its checkpoint, the same growth.
    again = fdp_meta_stability.main(args + ["--arms", "slow"])
    assert again["weight_growth"] == growth[2:]
    with pytest.raises(ValueError, match="multiple of probe_every"):
        fdp_meta_stability.main(["--quick", "--steps", "7"])


def test_fdp_mnist_meta_learning_rate_applies_to_the_meta_cell_only():
    from experiments import fdp_mnist

    cfg = fdp_mnist.Config(table="meta")
    cells = {c.model: c for c in fdp_mnist.table_cells(cfg)}
    assert set(cells) == {"modulation", "meta"}
    assert fdp_mnist.cell_learning_rate(cfg, cells["meta"]) == 5e-5
    assert fdp_mnist.cell_learning_rate(cfg, cells["modulation"]) == cfg.learning_rate == 5e-4
    same = dataclasses.replace(cfg, meta_learning_rate=0.0)
    assert fdp_mnist.cell_learning_rate(same, cells["meta"]) == 5e-4
    # Only the meta cell's cache and checkpoints depend on it: the shared modulation cell is reused.
    assert fdp_mnist._signature(same, cells["modulation"]) == fdp_mnist._signature(cfg, cells["modulation"])
    assert fdp_mnist._signature(same, cells["meta"]) != fdp_mnist._signature(cfg, cells["meta"])
    with pytest.raises(ValueError, match="meta_learning_rate must be >= 0"):
        fdp_mnist.check_config(dataclasses.replace(cfg, meta_learning_rate=-1e-4))
