"""A training run killed mid-way then resumed (1 against 8 devices: tests/test_distributed.py).

Each run is `experiments.toy_train` in a subprocess, because the number of CPU devices is
fixed when JAX starts (JAX_NUM_CPU_DEVICES): the run to kill, then one process that resumes it
and then trains the uninterrupted reference.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(devices, cache):
    return dict(os.environ, JAX_NUM_CPU_DEVICES=str(devices), JAX_PLATFORMS="cpu", **cache)


def _args(out, extra):
    return ["--quick", "--num-steps", "20", "--log-every", "1", "--batch-size", "64", "--samplers", "", "--no-progress",
            "--checkpoint-dir", os.path.join(out, "ckpt"), "--out-dir", out,
            "--save-params", os.path.join(out, "params.npz"), *extra]


def _result(out):
    with open(os.path.join(out, "toy_train.json")) as f:
        res = json.load(f)
    return res, np.load(os.path.join(out, "params.npz"))


def test_killed_run_resumes_to_the_uninterrupted_parameters(tmp_path, subprocess_compilation_cache):
    extra = ("--checkpoint-every", "50", "--num-steps", "200")
    env = _env(2, subprocess_compilation_cache)
    killed, ref = str(tmp_path / "killed"), str(tmp_path / "ref")

    # Start the run, kill it (SIGKILL, no clean-up) once the step-50 checkpoint exists.
    proc = subprocess.Popen([sys.executable, "-m", "experiments.toy_train", *_args(killed, extra)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = os.path.join(killed, "ckpt")
    deadline = time.time() + 300
    while time.time() < deadline:
        steps = [int(d) for d in os.listdir(ckpt) if d.isdigit()] if os.path.isdir(ckpt) else []
        if steps or proc.poll() is not None:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be killed (machine too fast for this timing)")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not os.path.exists(os.path.join(killed, "toy_train.json"))

    # The same command resumes it; then, in the same process (one start-up for both), the same run
    # uninterrupted in a fresh folder.  The resume comes first, so it runs in a process that has
    # trained nothing before.
    runs = json.dumps([_args(killed, extra), _args(ref, extra)])
    code = ("import json, sys; from experiments import toy_train\n"
            "for argv in json.loads(sys.argv[1]): toy_train.main(argv)")
    done = subprocess.run([sys.executable, "-c", code, runs], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (ref_res, ref_params), (resumed, resumed_params) = _result(ref), _result(killed)
    for k in ref_params.files:
        np.testing.assert_array_equal(ref_params[k], resumed_params[k])
    assert resumed["losses"] == ref_res["losses"]
