"""The training layer: optimizer, EMA, sharded step, checkpoints, exact resume, NaN stop."""

import itertools
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sdegen_jax as sg
from sdegen_jax import losses, train
from sdegen_jax.data import SampledBatches


def _init(key, width=16):
    k1, k2 = jax.random.split(key)
    return {"w1": jax.random.normal(k1, (3, width)) * 0.5, "b1": jnp.zeros(width), "w2": jax.random.normal(k2, (width, 2)) * 0.1}


def _model(p, x, t):
    h = jnp.tanh(jnp.concatenate([x, t[:, None]], axis=1) @ p["w1"] + p["b1"])
    return h @ p["w2"]


SDE = sg.sde.VPSDE()
RING = sg.toy.ring_mixture(4, radius=2.0, std=0.3)


def _loss(p, key, batch):
    return losses.denoising_score_matching(key, SDE, lambda x, t: _model(p, x[None], t[None])[0], batch)


def _setup(lr=1e-2):
    mesh = train.make_mesh()
    opt = train.make_optimizer(lr, warmup_steps=2)
    state = train.replicate(train.TrainState.create(_init(jax.random.PRNGKey(0)), opt, jax.random.PRNGKey(1)), mesh)
    return mesh, train.make_train_step(_loss, opt, mesh, ema_decay=0.9), state


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def test_resume_from_checkpoint_equals_uninterrupted(tmp_path):
    mesh, step, state0 = _setup()
    full = train.fit(state0, step, SampledBatches(RING.sample, 32), num_steps=20, mesh=mesh, progress=False)

    mesh, step, state0 = _setup()
    ckpt = train.Checkpointer(str(tmp_path / "ckpt"))
    train.fit(state0, step, SampledBatches(RING.sample, 32), num_steps=10, mesh=mesh, checkpointer=ckpt, checkpoint_every=5, progress=False)
    ckpt.close()
    assert train.Checkpointer(str(tmp_path / "ckpt")).latest_step() == 10

    mesh, step, fresh = _setup()  # a new process would start from a fresh init and restore
    ckpt = train.Checkpointer(str(tmp_path / "ckpt"))
    resumed = train.fit(fresh, step, SampledBatches(RING.sample, 32), num_steps=20, mesh=mesh, checkpointer=ckpt, progress=False)
    ckpt.close()
    assert int(resumed.step) == 20
    for a, b in zip(_leaves((full.params, full.ema_params, full.opt_state)), _leaves((resumed.params, resumed.ema_params, resumed.opt_state))):
        np.testing.assert_array_equal(a, b)


def test_a_wall_clock_budget_stops_checkpoints_and_resumes_spent(tmp_path):
    """max_seconds stops early with a checkpoint that records the time spent; a rerun with the
    same budget trains no further, a larger budget continues from there."""
    mesh, step, state0 = _setup()
    step(jax.tree_util.tree_map(jnp.copy, state0), train.shard_batch(np.asarray(RING.sample(jax.random.key(0), 32)), mesh))
    ckpt = train.Checkpointer(str(tmp_path / "ckpt"))
    log = str(tmp_path / "log.jsonl")
    budget = 0.3
    first = train.fit(jax.tree_util.tree_map(jnp.copy, state0), step, SampledBatches(RING.sample, 32), num_steps=10**6,
                      mesh=mesh, checkpointer=ckpt, log_path=log, log_every=10**6, progress=False, max_seconds=budget)
    stopped = int(first.step)
    assert 0 < stopped < 10**6 and ckpt.latest_step() == stopped
    rows = train.read_log(log)
    assert rows[-1]["step"] == stopped and budget <= rows[-1]["train_seconds"] < budget + 5.0
    again = train.fit(jax.tree_util.tree_map(jnp.copy, state0), step, SampledBatches(RING.sample, 32), num_steps=10**6,
                      mesh=mesh, checkpointer=ckpt, progress=False, max_seconds=budget)
    assert int(again.step) == stopped
    more = train.fit(jax.tree_util.tree_map(jnp.copy, state0), step, SampledBatches(RING.sample, 32),
                     num_steps=stopped + 7, mesh=mesh, checkpointer=ckpt, progress=False, max_seconds=budget + 60)
    assert int(more.step) == stopped + 7
    ckpt.close()
    with pytest.raises(ValueError, match="max_seconds"):
        train.fit(state0, step, SampledBatches(RING.sample, 32), num_steps=1, mesh=mesh, progress=False, max_seconds=0)


class _Pending:
    """A metric whose computation finishes `delay` seconds after it is first waited for, as an
    asynchronously dispatched step's output does."""

    def __init__(self, value, delay):
        self.value, self.delay, self.ready = value, delay, False

    def block_until_ready(self):
        if not self.ready:
            time.sleep(self.delay)
            self.ready = True
        return self

    def __float__(self):
        return float(self.block_until_ready().value)


def test_the_logged_time_includes_the_work_of_asynchronously_dispatched_steps(tmp_path):
    mesh, step, state0 = _setup()
    batch = np.asarray(RING.sample(jax.random.key(0), 32))
    step(jax.tree_util.tree_map(jnp.copy, state0), train.shard_batch(batch, mesh))  # compiled: a step takes ms

    def slow_step(state, batch):
        state, metrics = step(state, batch)
        return state, {**metrics, "loss": _Pending(metrics["loss"], 0.5)}

    ckpt = train.Checkpointer(str(tmp_path / "ckpt"))
    log = str(tmp_path / "log.jsonl")
    train.fit(jax.tree_util.tree_map(jnp.copy, state0), slow_step, itertools.repeat(batch), num_steps=1, mesh=mesh,
              checkpointer=ckpt, log_path=log, log_every=1, progress=False)
    ckpt.close()
    assert 0.5 <= train.read_log(log)[-1]["train_seconds"] < 5.0

    # A wall-clock budget that runs out between log steps: its checkpoint and log row count the
    # step's work too (0.3 s of dispatching, then 0.5 s to finish the step that crossed it).
    log = str(tmp_path / "budget.jsonl")
    ckpt = train.Checkpointer(str(tmp_path / "budget_ckpt"))
    train.fit(jax.tree_util.tree_map(jnp.copy, state0), slow_step, itertools.repeat(batch), num_steps=10**6, mesh=mesh,
              checkpointer=ckpt, log_path=log, log_every=10**6, progress=False, max_seconds=0.3)
    ckpt.close()
    assert 0.8 <= train.read_log(log)[-1]["train_seconds"] < 5.0


def test_loss_decreases_and_log_is_written(tmp_path):
    mesh, step, state = _setup()
    log = tmp_path / "log.jsonl"
    train.fit(state, step, SampledBatches(RING.sample, 64), num_steps=200, mesh=mesh, log_path=str(log), log_every=10, progress=False)
    rows = train.read_log(str(log))
    assert [r["step"] for r in rows] == list(range(10, 201, 10))
    assert np.mean([r["loss"] for r in rows[-5:]]) < np.mean([r["loss"] for r in rows[:2]])
    assert all(r["img_per_s"] > 0 for r in rows)


def test_nan_stops_and_names_the_last_good_checkpoint(tmp_path):
    mesh = train.make_mesh()
    opt = train.make_optimizer(1e-2)

    def loss(p, key, batch):  # finite for 6 steps, then NaN
        base = _loss(p, key, batch)
        return jnp.where(jnp.sum(batch) > 1e8, jnp.nan, base)

    class Batches(SampledBatches):
        def __next__(self):
            b = super().__next__()
            return b + (1e9 if self.index > 6 else 0.0)

    state = train.replicate(train.TrainState.create(_init(jax.random.PRNGKey(0)), opt, jax.random.PRNGKey(1)), mesh)
    step = train.make_train_step(loss, opt, mesh)
    ckpt = train.Checkpointer(str(tmp_path / "ck"))
    with pytest.raises(train.TrainingDiverged, match=r"last good checkpoint: .*ck/5"):
        train.fit(state, step, Batches(RING.sample, 16), num_steps=20, mesh=mesh, checkpointer=ckpt,
                  checkpoint_every=5, log_every=1, progress=False)
    ckpt.close()


def test_ema_update_closed_form():
    ema = {"a": jnp.array(1.0)}
    for _ in range(3):
        ema = train.ema_update(ema, {"a": jnp.array(0.0)}, 0.5)
    assert float(ema["a"]) == 0.125


def test_optimizer_warms_up_linearly():
    opt = train.make_optimizer(1.0, warmup_steps=10, grad_clip=None)
    params = {"x": jnp.zeros(4)}
    st = opt.init(params)
    g = {"x": jnp.full(4, 3.0)}  # a constant gradient: every Adam step is lr · sign(g)
    for k in range(4):
        upd, st = opt.update(g, st, params)
        np.testing.assert_allclose(np.asarray(upd["x"]), -k / 10, rtol=1e-3, atol=1e-7)


def test_gradient_clipping_changes_adams_update():
    """Adam's step is about lr · sign(g) at any constant gradient scale, so clipping shows only
    when the gradient norm changes: a huge first gradient (norm 2000) then a unit one.  Clipped
    to norm 1, both gradients are 0.5 per coordinate and the second step is exactly −lr; without
    clipping the huge first gradient dominates Adam's moments and the second step differs."""
    params = {"x": jnp.zeros(4)}
    grads = [{"x": jnp.full(4, 1000.0)}, {"x": jnp.full(4, 0.5)}]

    def second_update(grad_clip):
        opt = train.make_optimizer(1.0, grad_clip=grad_clip)
        st = opt.init(params)
        for g in grads:
            upd, st = opt.update(g, st, params)
        return np.asarray(upd["x"])

    np.testing.assert_allclose(second_update(1.0), -1.0, rtol=1e-4)
    b1, b2, g1, g2 = 0.9, 0.999, 1000.0, 0.5  # Adam by hand, unclipped, bias-corrected
    m = ((1 - b1) * b1 * g1 + (1 - b1) * g2) / (1 - b1**2)
    v = ((1 - b2) * b2 * g1**2 + (1 - b2) * g2**2) / (1 - b2**2)
    np.testing.assert_allclose(second_update(None), -m / (np.sqrt(v) + 1e-8), rtol=1e-4)
    assert abs(second_update(None)[0] + 1.0) > 0.2


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: train.make_optimizer(-1.0), "learning_rate must be > 0"),
        (lambda: train.make_optimizer(1e-3, grad_clip=0.0), "grad_clip=None to disable"),
        (lambda: train.make_train_step(_loss, train.make_optimizer(1e-3), train.make_mesh(), ema_decay=1.0), "ema_decay"),
        (lambda: train.sharding.check_batch_divisible(10, train.make_mesh(jax.devices() * 1)) or
         train.sharding.check_batch_divisible(7, _FakeMesh(4)), "not divisible by the 4 devices"),
    ],
)
def test_training_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


class _FakeMesh:
    def __init__(self, n):
        self.devices = np.zeros(n)


def test_ema_decay_warms_up():
    np.testing.assert_allclose(float(train.ema_decay_at(0, 0.999)), 0.1)
    np.testing.assert_allclose(float(train.ema_decay_at(90, 0.999)), 91 / 100)
    np.testing.assert_allclose(float(train.ema_decay_at(10**6, 0.999)), 0.999)


@pytest.mark.parametrize("make_key", [lambda: jax.random.key(3), lambda: jax.random.PRNGKey(3)])
def test_the_callers_key_survives_the_donating_step(make_key):
    """The step donates its state; the key given to model_training must not be that buffer."""
    from flax import nnx

    key = make_key()
    model = sg.nets.TimeMLP(2, features=(8,), rngs=nnx.Rngs(0))
    training = train.model_training(model, lambda k, f, b: jnp.mean(f.batched(b, jnp.ones(b.shape[0])) ** 2),
                                    train.make_mesh(jax.devices()[:1]), optimizer=train.make_optimizer(1e-3), key=key)
    state, _ = training.step(training.state, jnp.ones((4, 2)))
    jax.random.split(key)  # raised "Buffer has been deleted or donated" before the copy
