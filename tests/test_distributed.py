"""Multi-process training under jax.distributed (2 processes × 4 simulated CPU devices, on
loopback, through `python -m sdegen_jax.launch`) gives the losses and parameters of 1 process ×
8 devices, and a checkpoint written by 2 processes resumes in 1 process, and the reverse.

Each run is a subprocess of `python -m experiments.toy_train` (20 steps, batch 64,
checkpoints every 5 steps, the last two kept).  Equality is to float rounding: the cross-process
all-reduce sums in another order (measured: losses within 5e-7, parameters within 3e-8)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(out, processes, steps, cache, ckpt=None, params=True, devices=8):
    cmd = [sys.executable, "-m", "experiments.toy_train", "--quick", "--num-steps", str(steps), "--log-every", "1",
           "--batch-size", "64", "--samplers", "", "--no-progress", "--checkpoint-every", "5",
           "--checkpoint-dir", ckpt or os.path.join(out, "ckpt"), "--out-dir", out]
    if params:
        cmd += ["--save-params", os.path.join(out, "params.npz")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDEGEN_", "JAX_COORDINATOR"))}
    env.update(cache)
    if processes == 1:
        args = cmd
        env.update(JAX_NUM_CPU_DEVICES=str(devices), JAX_PLATFORMS="cpu")
    else:
        args = [sys.executable, "-m", "sdegen_jax.launch", "--processes", str(processes), "--cpu-devices",
                str(8 // processes), "--timeout", "500", "--", *cmd]
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(os.path.join(out, "toy_train.json")) as f:
        res = json.load(f)
    return res, (np.load(os.path.join(out, "params.npz")) if params else None)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, subprocess_compilation_cache):
    out = str(tmp_path_factory.mktemp("one_by_eight"))
    return out, _run(out, 1, 20, subprocess_compilation_cache)


def _assert_same(got, ref):
    (res, params), (ref_res, ref_params) = got, ref
    assert res["num_devices"] == ref_res["num_devices"] == 8
    np.testing.assert_allclose(np.array(res["losses"]), np.array(ref_res["losses"]), rtol=1e-5, atol=1e-6)
    for k in ref_params.files:
        np.testing.assert_allclose(params[k], ref_params[k], rtol=1e-5, atol=1e-6)


def _resume_from_step_15(src, dst):
    """A copy of a finished run's folder with its last checkpoint (step 20) removed: resuming
    it trains steps 16–20 from the step-15 checkpoint (the log continues)."""
    shutil.copytree(src, dst)
    shutil.rmtree(os.path.join(dst, "ckpt", "20"))
    log = os.path.join(dst, "toy_train_log.jsonl")
    with open(log) as f:
        entries = [dict(json.loads(line), copied=True) for line in f]
    with open(log, "w") as f:  # marked: a resumed run keeps entries 1–15, a fresh start would drop them
        f.writelines(json.dumps(e) + "\n" for e in entries)
    return str(dst)


def _resumed_at_15(out):
    with open(os.path.join(out, "toy_train_log.jsonl")) as f:
        return [bool(json.loads(line).get("copied")) for line in f] == [True] * 15 + [False] * 5


def test_two_processes_train_as_one_and_checkpoints_move_between_process_counts(tmp_path, reference,
                                                                                  subprocess_compilation_cache):
    """20 steps on 1 device give the 1 × 8 losses (the sharded step is the same computation: the
    losses to float rounding of the all-reduce); 20 steps on 2 processes × 4 devices give the
    1 × 8 losses and parameters; then each run's step-15 checkpoint resumes on the other process
    count (2 → 1 and 1 → 2) to the same end.  (One test, so that the 1 × 8 reference runs once
    under xdist.)"""
    ref_dir, ref = reference
    cache = subprocess_compilation_cache
    one, _ = _run(str(tmp_path / "one_device"), 1, 20, cache, params=False, devices=1)
    assert one["num_devices"] == 1
    l1, l8 = np.array(one["losses"]), np.array(ref[0]["losses"])
    assert l1.shape == (20, 2)
    np.testing.assert_array_equal(l1[:, 0], l8[:, 0])  # the step column
    np.testing.assert_allclose(l1[:, 1], l8[:, 1], rtol=1e-4)
    two = str(tmp_path / "two")
    got = _run(two, 2, 20, cache)
    assert len(got[0]["losses"]) == 20
    _assert_same(got, ref)
    for src, name, processes in ((two, "two_then_one", 1), (ref_dir, "one_then_two", 2)):
        out = _resume_from_step_15(src, tmp_path / name)
        _assert_same(_run(out, processes, 20, cache), ref)
        assert _resumed_at_15(out), name
