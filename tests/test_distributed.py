"""Multi-process training under jax.distributed (2 processes × 4 simulated CPU devices, on
loopback, through `python -m sdegen_jax.launch`) gives the losses and parameters of 1 process ×
8 devices, and a checkpoint written by 2 processes resumes in 1 process, and the reverse.

Each run is `experiments.toy_train` (20 steps, batch 64, checkpoints every 5 steps, the last two
kept) in a subprocess: three subprocesses in all (the 1 × 8 reference, one 2-process launch that
trains from scratch and then resumes the reference's step-15 checkpoint, and a 1-process,
1-device resume of the 2-process step-15 checkpoint).  Equality is to float rounding: the
cross-process all-reduce sums in another order (measured: losses within 5e-7, parameters within
3e-8), and so does 1 device against 8 (measured: losses within 1.2e-7 relative, parameters
within 1 % of the tolerance)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _args(out):
    return ["--quick", "--num-steps", "20", "--log-every", "1", "--batch-size", "64", "--samplers", "", "--no-progress",
            "--checkpoint-every", "5", "--checkpoint-dir", os.path.join(out, "ckpt"), "--out-dir", out,
            "--save-params", os.path.join(out, "params.npz")]


def _run(outs, processes, cache, devices=8):
    """`experiments.toy_train` into each folder of `outs` in turn, in one job of `processes`
    processes × `devices // processes` devices (one main() call per folder, so that a resume can
    share the start-up of another run); returns each folder's (results, final parameters)."""
    runs = json.dumps([_args(out) for out in outs])
    cmd = [sys.executable, "-c", "import json, sys; from experiments import toy_train\n"
           "for argv in json.loads(sys.argv[1]): toy_train.main(argv)", runs]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDEGEN_", "JAX_COORDINATOR"))}
    env.update(cache)
    if processes == 1:
        args = cmd
        env.update(JAX_NUM_CPU_DEVICES=str(devices), JAX_PLATFORMS="cpu")
    else:
        args = [sys.executable, "-m", "sdegen_jax.launch", "--processes", str(processes), "--cpu-devices",
                str(devices // processes), "--timeout", "500", "--", *cmd]
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = []
    for out in outs:
        with open(os.path.join(out, "toy_train.json")) as f:
            results.append((json.load(f), np.load(os.path.join(out, "params.npz"))))
    return results


@pytest.fixture(scope="module")
def reference(tmp_path_factory, subprocess_compilation_cache):
    out = str(tmp_path_factory.mktemp("one_by_eight"))
    return out, _run([out], 1, subprocess_compilation_cache)[0]


def _assert_same(got, ref, devices=8):
    (res, params), (ref_res, ref_params) = got, ref
    assert ref_res["num_devices"] == 8 and res["num_devices"] == devices
    assert [step for step, _ in res["losses"]] == list(range(1, 21))
    np.testing.assert_allclose(np.array(res["losses"]), np.array(ref_res["losses"]), rtol=1e-5, atol=1e-6)
    for k in ref_params.files:
        np.testing.assert_allclose(params[k], ref_params[k], rtol=1e-5, atol=1e-6)


def _resume_from_step_15(src, dst):
    """A copy of a finished run's folder with its last checkpoint (step 20) removed: resuming
    it trains steps 16–20 from the step-15 checkpoint (the log continues).  The results and
    parameters are not copied: the resumed run must write its own."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("toy_train.json", "params.npz"))
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
    """20 steps on 2 processes × 4 devices give the 1 × 8 losses and parameters; then each run's
    step-15 checkpoint resumes on the other process count to the same end: the 1 × 8 one in the
    same 2-process job (1 → 2), the 2-process one in 1 process of 1 device (2 → 1), which also
    checks that the sharded step on 1 device is the 8-device computation (steps 16–20, to
    float rounding).  (One test, so that the 1 × 8 reference runs once under xdist.)"""
    ref_dir, ref = reference
    cache = subprocess_compilation_cache
    two = str(tmp_path / "two")
    one_then_two = _resume_from_step_15(ref_dir, tmp_path / "one_then_two")
    got, resumed = _run([two, one_then_two], 2, cache)
    _assert_same(got, ref)
    _assert_same(resumed, ref)
    assert _resumed_at_15(one_then_two), "one_then_two"
    two_then_one = _resume_from_step_15(two, tmp_path / "two_then_one")
    (resumed,) = _run([two_then_one], 1, cache, devices=1)
    _assert_same(resumed, ref, devices=1)
    assert _resumed_at_15(two_then_one), "two_then_one"
