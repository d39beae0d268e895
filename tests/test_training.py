"""Tests of jaxrnn.training: clip-then-Adam, the guarded step, fit, seeds in one program."""

import contextlib
import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
import warnings

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import tolerance

import jaxrnn
from jaxrnn import training

TOL = tolerance(jnp.float32)


def _bits(tree):
    """Every leaf's raw bytes: equality here is bit-identity (-0.0 != 0.0, NaN == NaN)."""
    return [np.asarray(leaf).tobytes() for leaf in jax.tree_util.tree_leaves(tree)]


# ---------------------------------------------------------------------------------------
# The optimiser.
# ---------------------------------------------------------------------------------------


def _grads(key, scale=1.0):
    k1, k2 = jax.random.split(key)
    return {"w": scale * jax.random.normal(k1, (8, 4)), "b": scale * jax.random.normal(k2, (4,))}


def test_default_is_clip_by_global_norm_then_adam():
    ours = training.make_optimizer(1e-3, max_grad_norm=0.5)
    theirs = optax.chain(optax.clip_by_global_norm(0.5), optax.adam(1e-3))
    params = _grads(jax.random.key(0))
    s_ours, s_theirs = ours.init(params), theirs.init(params)
    for k in range(4):
        g = _grads(jax.random.key(k + 1), scale=10.0 ** (k - 1))
        u_ours, s_ours = ours.update(g, s_ours, params)
        u_theirs, s_theirs = theirs.update(g, s_theirs, params)
        chex.assert_trees_all_equal(u_ours, u_theirs)


def _update_sizes(optimizer, spike_at=5, steps=130):
    params = _grads(jax.random.key(0))
    state = optimizer.init(params)
    sizes = []
    for k in range(steps):
        g = _grads(jax.random.key(100 + k), scale=1e6 if k == spike_at else 1.0)
        updates, state = optimizer.update(g, state, params)
        sizes.append(float(optax.tree.norm(updates)))
    return np.array(sizes)


def test_clipping_ahead_of_adam_protects_later_updates():
    # One gradient of norm ~1e6 among normal ones (norm ~6). Clipped first, Adam never
    # sees it; unclipped, it inflates Adam's second moment v by ~1e12 and, once the
    # spike has left the first moment (b1 = 0.9: tens of steps), every update shrinks by
    # orders of magnitude, since v forgets only as b2 = 0.999 per step.
    spike, later = 5, slice(65, None)
    # c = 10, about 1.7x the normal norm (Pascanu et al.: 0.5x to 10x): only the spike clips.
    clipped = _update_sizes(training.make_optimizer(1e-3, max_grad_norm=10.0), spike)
    unclipped = _update_sizes(training.make_optimizer(1e-3, clipping="none"), spike)
    before = clipped[:spike].mean()
    np.testing.assert_allclose(unclipped[:spike], clipped[:spike], rtol=1e-5)
    assert 0.3 < clipped[later].mean() / before < 3.0
    assert unclipped[later].max() / before < 1e-2
    # Clipping *after* Adam does not help: the poison is already in v.
    after = optax.chain(optax.adam(1e-3), optax.clip_by_global_norm(10.0))
    assert _update_sizes(after, spike)[later].max() / before < 1e-2


def test_clipped_norm_bounded_and_direction_kept():
    clip = optax.clip_by_global_norm(2.0)
    for scale in (0.01, 1.0, 1e3, 1e8):
        g = _grads(jax.random.key(3), scale)
        clipped, _ = clip.update(g, clip.init(g))
        norm = float(optax.tree.norm(clipped))
        assert norm <= 2.0 * (1 + 1e-6)
        flat_g = jnp.concatenate([x.ravel() for x in jax.tree_util.tree_leaves(g)])
        flat_c = jnp.concatenate([x.ravel() for x in jax.tree_util.tree_leaves(clipped)])
        cosine = flat_g @ flat_c / (jnp.linalg.norm(flat_g) * jnp.linalg.norm(flat_c))
        np.testing.assert_allclose(cosine, 1.0, rtol=1e-5)


def test_elementwise_clipping():
    opt = training.make_optimizer(1.0, max_grad_norm=0.1, clipping="elementwise", optimizer="sgd",
                                  momentum=0.0)  # fmt: skip
    g = _grads(jax.random.key(4), 5.0)
    updates, _ = opt.update(g, opt.init(g))
    expected = jax.tree_util.tree_map(lambda x: -jnp.clip(x, -0.1, 0.1), g)
    chex.assert_trees_all_close(updates, expected)


@pytest.mark.parametrize(
    ("kwargs", "reference"),
    [
        ({"optimizer": "sgd", "momentum": 0.9, "nesterov": True},
         optax.sgd(0.1, momentum=0.9, nesterov=True)),
        ({"optimizer": "rmsprop", "decay": 0.95, "eps": 1e-6},
         optax.rmsprop(0.1, decay=0.95, eps=1e-6)),
        ({"optimizer": "adamw", "weight_decay": 0.01}, optax.adamw(0.1, weight_decay=0.01)),
    ],
)  # fmt: skip
def test_optimizer_variants_match_optax(kwargs, reference):
    ours = training.make_optimizer(0.1, clipping="none", **kwargs)
    params = _grads(jax.random.key(0))
    s_ours, s_ref = ours.init(params), reference.init(params)
    for k in range(3):
        g = _grads(jax.random.key(10 + k))
        u_ours, s_ours = ours.update(g, s_ours, params)
        u_ref, s_ref = reference.update(g, s_ref, params)
        chex.assert_trees_all_close(u_ours, u_ref, **TOL)


def test_schedules():
    opt = training.make_optimizer(
        1.0,
        clipping="none",
        optimizer="sgd",
        momentum=0.0,
        schedule="warmup_cosine",
        warmup_steps=2,
        total_steps=10,
    )
    params = {"w": jnp.zeros(())}
    state = opt.init(params)
    lrs = []
    for _ in range(10):
        updates, state = opt.update({"w": jnp.ones(())}, state, params)
        lrs.append(-float(updates["w"]))
    expected = optax.warmup_cosine_decay_schedule(0.0, 1.0, 2, 10)
    np.testing.assert_allclose(lrs, [expected(k) for k in range(10)], rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"clipping": "value"}, ValueError, "`clipping`"),
        ({"optimizer": "lamb"}, ValueError, "`optimizer`"),
        ({"max_grad_norm": 0.0}, ValueError, "`max_grad_norm` > 0"),
        ({"max_grad_norm": None, "clipping": "elementwise"}, ValueError, "`max_grad_norm` > 0"),
        ({"schedule": "step", "total_steps": 10}, ValueError, "`schedule`"),
        ({"schedule": "cosine"}, ValueError, "`total_steps`"),
    ],
)
def test_optimizer_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        training.make_optimizer(1e-3, **kwargs)
    with pytest.raises(ValueError, match="`learning_rate` > 0"):
        training.make_optimizer(0.0)


# ---------------------------------------------------------------------------------------
# The train step and its non-finite guard.
# ---------------------------------------------------------------------------------------

MODEL = jaxrnn.GRU(6)


def _loss(params, batch, rng):
    outputs = MODEL.apply({"params": params}, batch["x"])
    prediction = outputs[:, -1].sum(-1)
    mse = jnp.mean((prediction - batch["y"]) ** 2)
    return mse, {"mse": mse}


def _data(n=32, key=0):
    x = jax.random.normal(jax.random.key(key), (n, 5, 3))
    return {"x": np.asarray(x), "y": np.asarray(x.sum(axis=(1, 2)))}


def _state(key=1, lr=1e-2):
    params = MODEL.init(jax.random.key(key), jnp.zeros((1, 5, 3)))["params"]
    opt = training.make_optimizer(lr, max_grad_norm=1.0)
    return training.TrainState.create(params, opt, jax.random.key(key + 100)), opt


def test_step_metrics():
    state, opt = _state()
    step = training.make_train_step(_loss, opt)
    batch = _data(8)
    new_state, metrics = step(state, batch)
    grads = jax.grad(lambda p: _loss(p, batch, None)[0])(state.params)
    np.testing.assert_allclose(metrics["grad_norm"], optax.tree.norm(grads), rtol=1e-5)
    assert bool(metrics["clipped"]) == (float(metrics["grad_norm"]) > 1.0)
    np.testing.assert_allclose(metrics["clipped_grad_norm"], min(float(metrics["grad_norm"]), 1.0),
                               rtol=1e-5)  # fmt: skip
    np.testing.assert_allclose(metrics["param_norm"], optax.tree.norm(new_state.params))
    assert int(new_state.step) == 1 and not bool(metrics["nonfinite"])
    np.testing.assert_allclose(metrics["mse"], metrics["loss"])


@pytest.mark.parametrize("clipping", ["global_norm", "none"])
def test_sgd_step_applies_at_most_lr_c_over_seeds(clipping):
    # Pascanu et al.'s Algorithm 1 in the vmapped step the clipping experiment trains
    # with: the applied gradient has norm min(||g||, c) and plain SGD moves the
    # parameters by exactly lr times that, per seed, however large ||g|| is (a loss
    # scaled by 10^k stands in for an exploding gradient). Unclipped: the raw norm.
    lr, c, scales = 0.1, 3.0, jnp.asarray([1e-3, 1.0, 1e6])
    opt = training.make_optimizer(lr, c, clipping=clipping, optimizer="sgd", momentum=0.0)

    def scaled_loss(params, batch, rng):
        scale = jax.lax.stop_gradient(params["scale"])
        return scale * _loss(params["model"], batch, rng)[0]

    def create(key, scale):
        params = MODEL.init(key, jnp.zeros((1, 5, 3)))["params"]
        return training.TrainState.create({"model": params, "scale": scale}, opt, key)

    keys = jax.random.split(jax.random.key(5), len(scales))
    states = jax.vmap(create)(keys, scales)
    step = training.make_train_step(scaled_loss, opt, num_seeds=len(scales), shared_batch=True)
    new_states, metrics = step(states, _data(8))
    grad_norm = np.asarray(metrics["grad_norm"], np.float64)
    applied = np.asarray(metrics["clipped_grad_norm"], np.float64)
    expected = np.minimum(grad_norm, c) if clipping == "global_norm" else grad_norm
    assert grad_norm[0] < c < grad_norm[2]  # one seed below c, one far above
    np.testing.assert_allclose(applied, expected, rtol=TOL["rtol"])
    if clipping == "global_norm":
        assert np.all(applied <= c * (1 + TOL["rtol"]))
    moved = jax.vmap(optax.tree.norm)(
        jax.tree_util.tree_map(jnp.subtract, new_states.params, states.params)
    )
    np.testing.assert_allclose(moved, lr * expected, rtol=1e-4)


@pytest.mark.parametrize("poison", ["nan_input", "inf_loss"])
def test_nonfinite_step_leaves_state_bit_identical(poison):
    state, opt = _state()
    step = training.make_train_step(_loss, opt)
    state, _ = step(state, _data(8))  # a real step first: Adam's moments are non-zero
    batch = _data(8, key=3)
    if poison == "nan_input":
        batch["x"] = batch["x"].copy()
        batch["x"][2, 3, 1] = np.nan
    else:
        batch["y"] = np.full_like(batch["y"], np.inf)
    new_state, metrics = step(state, batch)
    assert bool(metrics["nonfinite"])
    assert _bits(new_state.params) == _bits(state.params)
    assert _bits(new_state.opt_state) == _bits(state.opt_state)
    assert int(new_state.nonfinite_streak) == 1 and int(new_state.nonfinite_total) == 1
    assert int(new_state.step) == int(state.step) + 1
    recovered, metrics = step(new_state, _data(8))
    assert int(recovered.nonfinite_streak) == 0 and int(recovered.nonfinite_total) == 1
    assert _bits(recovered.params) != _bits(state.params)


def test_fit_stops_after_consecutive_nonfinite_steps():
    state, opt = _state()
    step = training.make_train_step(_loss, opt)
    good = training.array_batches(_data(), 8, seed=0)
    bad = {"x": np.full((8, 5, 3), np.nan, np.float32), "y": np.zeros(8, np.float32)}

    def batches(k):
        return good(k) if k < 3 else bad

    with pytest.raises(training.NonFiniteError, match="4 consecutive steps"):
        training.fit(state, step, batches, num_steps=50, max_nonfinite_steps=4, progress=False)
    reference = training.fit(state, step, good, num_steps=3, progress=False).state
    # fit's state is not returned on error: rerun to the failure point by hand.
    s = state
    for k in range(7):
        s, _ = step(s, batches(k))
    assert _bits(s.params) == _bits(reference.params)


# ---------------------------------------------------------------------------------------
# fit: data order, logging, resume.
# ---------------------------------------------------------------------------------------


def test_array_batches_order_is_a_function_of_seed_and_step():
    data = {"i": np.arange(20)}
    a = training.array_batches(data, 6, seed=1)
    b = training.array_batches(data, 6, seed=1)
    c = training.array_batches(data, 6, seed=2)
    for k in range(7):
        np.testing.assert_array_equal(a(k)["i"], b(k)["i"])
    assert any(not np.array_equal(a(k)["i"], c(k)["i"]) for k in range(3))
    epoch0 = np.concatenate([a(k)["i"] for k in range(3)])
    assert len(set(epoch0.tolist())) == 18  # no repeats within an epoch
    assert not np.array_equal(a(0)["i"], a(3)["i"])  # reshuffled next epoch
    with pytest.raises(ValueError, match="`batch_size`"):
        training.array_batches(data, 30, seed=0)


def test_array_batches_gives_each_process_its_block_of_the_global_batch():
    data = {"i": np.arange(40)}
    whole = training.array_batches(data, 12, seed=3, process_index=0, process_count=1)
    blocks = [
        training.array_batches(data, 12, seed=3, process_index=r, process_count=3) for r in range(3)
    ]
    for k in range(5):
        np.testing.assert_array_equal(np.concatenate([b(k)["i"] for b in blocks]), whole(k)["i"])
    assert whole.global_batch_size == 12 and blocks[1].global_batch_size == 12
    # The defaults are jax's own process layout: one process here.
    np.testing.assert_array_equal(training.array_batches(data, 12, seed=3)(2)["i"], whole(2)["i"])
    with pytest.raises(ValueError, match="divisible"):
        training.array_batches(data, 10, seed=0, process_index=0, process_count=3)
    with pytest.raises(ValueError, match="process_index"):
        training.array_batches(data, 12, seed=0, process_index=3, process_count=3)
    with pytest.raises(TypeError, match="`batch_size`"):
        training.array_batches(data, 2.5, seed=0)
    with pytest.raises(ValueError, match="`seed` >= 0"):
        training.array_batches(data, 4, seed=-1)


def test_fit_checks_the_global_batch_size():
    state, opt = _state()
    step = training.make_train_step(_loss, opt)
    mesh = jaxrnn.parallel.data_mesh()
    batches = training.array_batches(_data(), 8, seed=0)
    result = training.fit(state, step, batches, num_steps=2, mesh=mesh, progress=False)
    assert int(result.state.step) == 2
    with pytest.raises(ValueError, match=r"has leading sizes \[8\], expected 16"):
        training.fit(
            state, step, batches, num_steps=2, mesh=mesh, global_batch_size=16, progress=False
        )


def test_fit_names_the_seeds_stuck_in_nonfinite_steps():
    seeds = 3
    opt = training.make_optimizer(1e-2)
    keys = jax.random.split(jax.random.key(0), seeds)
    params = jax.vmap(lambda k: {"w": jax.random.normal(k, (3,))})(keys)
    states = jax.vmap(lambda p, k: training.TrainState.create(p, opt, k))(params, keys)

    def loss(p, batch, rng):
        del rng
        return jnp.sum(p["w"] * batch["scale"]) ** 2

    step = training.make_train_step(loss, opt, num_seeds=seeds)

    def batches(k):  # seed 1 gets an infinite input from step 2 on; all seeds from step 8
        scale = np.ones((seeds, 3), np.float32)
        if k >= 2:
            scale[1] = np.inf
        if k >= 8:
            scale[:] = np.inf
        return {"scale": scale}

    named = r"seeds \[1\] of 3 .* up to step 5 \(streaks \[0, 3, 0\]\)"
    with pytest.warns(RuntimeWarning, match=named):
        with pytest.raises(training.NonFiniteError, match=r"per seed: \[3, 9, 3\]"):
            training.fit(states, step, batches, num_steps=50, max_nonfinite_steps=3, progress=False)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_fit_logs_and_evaluates(tmp_path, suffix):
    state, opt = _state()
    step = training.make_train_step(_loss, opt)
    path = tmp_path / f"metrics{suffix}"
    result = training.fit(
        state, step, training.array_batches(_data(), 8, seed=0), num_steps=6, log_every=2,
        eval_fn=lambda p: {"norm": optax.tree.norm(p)}, eval_every=3, metrics_path=path,
        progress=False,
    )  # fmt: skip
    assert [row["step"] for row in result.history] == [2, 4, 6]
    assert [row["step"] for row in result.evals] == [3, 6]
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert [r["kind"] for r in rows] == ["train", "eval", "train", "train", "eval"]
        evals = [r for r in rows if r["kind"] == "eval"]
    else:
        rows = list(csv.DictReader(path.open()))
        assert [r["kind"] for r in rows] == ["train"] * 3
        evals = list(csv.DictReader((tmp_path / "metrics_eval.csv").open()))
    assert [float(r["norm"]) for r in evals] == pytest.approx([e["norm"] for e in result.evals])
    assert [float(r["loss"]) for r in rows if r["kind"] == "train"] == pytest.approx(
        [h["loss"] for h in result.history]
    )
    assert all(np.isfinite(row["loss"]) for row in result.history)


def test_resume_equals_uninterrupted(tmp_path):
    state, opt = _state()
    step = training.make_train_step(_loss, opt)
    batches = training.array_batches(_data(), 8, seed=0)
    straight = training.fit(state, step, batches, num_steps=12, progress=False).state
    first = training.fit(state, step, batches, num_steps=5, checkpoint_dir=tmp_path,
                         progress=False)  # fmt: skip
    assert int(first.state.step) == 5
    resumed = training.fit(state, step, batches, num_steps=12, checkpoint_dir=tmp_path,
                           progress=False)  # fmt: skip
    assert resumed.history[0]["step"] == 6
    assert _bits(resumed.state) == _bits(straight)


def test_fit_warns_when_the_restored_step_is_past_num_steps(tmp_path):
    state, opt = _state()
    step = training.make_train_step(_loss, opt)
    batches = training.array_batches(_data(), 8, seed=0)
    done = training.fit(state, step, batches, num_steps=6, checkpoint_dir=tmp_path, progress=False)
    with pytest.warns(UserWarning, match=r"restored from .* is at step 6, past `num_steps`=4"):
        again = training.fit(state, step, batches, num_steps=4, checkpoint_dir=tmp_path,
                             progress=False)  # fmt: skip
    assert int(again.state.step) == 6 and again.history == []
    assert _bits(again.state) == _bits(done.state)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # equal to the restored step: a finished run, no word
        training.fit(state, step, batches, num_steps=6, checkpoint_dir=tmp_path, progress=False)


# ---------------------------------------------------------------------------------------
# Many seeds in one program.
# ---------------------------------------------------------------------------------------


def test_vmapped_seeds_equal_separate_runs():
    seeds = [0, 1, 2]
    opt = training.make_optimizer(1e-2)

    def create(key):
        params = MODEL.init(key, jnp.zeros((1, 5, 3)))["params"]
        return training.TrainState.create(params, opt, key)

    keys = jax.random.split(jax.random.key(7), len(seeds))
    states = jax.vmap(create)(keys)
    per_seed = [training.array_batches(_data(), 8, seed=s) for s in seeds]

    def batches(k):
        return jax.tree_util.tree_map(lambda *b: np.stack(b), *[f(k) for f in per_seed])

    vstep = training.make_train_step(_loss, opt, num_seeds=len(seeds))
    together = training.fit(states, vstep, batches, num_steps=6, progress=False)
    assert np.shape(together.history[-1]["loss"]) == (len(seeds),)
    step = training.make_train_step(_loss, opt)
    for i, key in enumerate(keys):
        alone = training.fit(create(key), step, per_seed[i], num_steps=6, progress=False).state
        chex.assert_trees_all_close(
            jax.tree_util.tree_map(lambda x, i=i: x[i], together.state.params), alone.params,
            **TOL,
        )  # fmt: skip


# ---------------------------------------------------------------------------------------
# Bad input fails at once; the guard covers the update; interrupts keep finished steps.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "named"),
    [
        ({"learning_rate": float("inf")}, ValueError, "learning_rate"),
        ({"learning_rate": float("nan")}, ValueError, "learning_rate"),
        ({"learning_rate": -1e-3}, ValueError, "learning_rate"),
        ({"learning_rate": "1e-3"}, TypeError, "learning_rate"),
        ({"eps": -1.0}, ValueError, "eps"),
        ({"b1": 1.5}, ValueError, "b1"),
        ({"b2": -1.0}, ValueError, "b2"),
        ({"b1": True}, TypeError, "b1"),
        ({"optimizer": "sgd", "momentum": -1.0}, ValueError, "momentum"),
        ({"optimizer": "adamw", "weight_decay": -1.0}, ValueError, "weight_decay"),
        ({"optimizer": "rmsprop", "decay": 1.0}, ValueError, "decay"),
        ({"max_grad_norm": "1"}, TypeError, "max_grad_norm"),
        ({"max_grad_norm": 0.0}, ValueError, "max_grad_norm"),
        ({"nesterov": "yes"}, TypeError, "nesterov"),
        ({"schedule": "cosine", "total_steps": 10.5}, TypeError, "total_steps"),
        ({"schedule": "warmup_cosine", "total_steps": 10, "warmup_steps": -1}, ValueError,
         "warmup_steps"),
    ],
)  # fmt: skip
def test_make_optimizer_rejects_bad_hyperparameters(kwargs, error, named):
    kwargs = {"learning_rate": 1e-3, **kwargs}
    with pytest.raises(error, match=f"`{named}`"):
        training.make_optimizer(**kwargs)


def test_make_optimizer_accepts_what_pytorch_and_optax_accept():
    for kwargs in (
        {"eps": 0.0},  # torch.optim.Adam: eps >= 0
        {"optimizer": "sgd", "momentum": None},  # no momentum
        {"optimizer": "sgd", "momentum": 0},
        {"max_grad_norm": math.inf},  # nothing clipped, the norm recorded
        {"clipping": "none", "max_grad_norm": -1.0},  # ignored without clipping
        {"learning_rate": np.float32(1e-3), "b1": np.float64(0.8), "b2": jnp.float32(0.99)},
        {"learning_rate": optax.constant_schedule(1e-3)},
    ):
        opt = training.make_optimizer(**{"learning_rate": 1e-3, **kwargs})
        assert isinstance(opt, optax.GradientTransformation)


def test_the_guard_keeps_entries_that_were_never_finite():
    # A state that starts at inf (as optax.contrib.reduce_on_plateau's best value does),
    # and a parameter holding an -inf mask: not non-finite steps.
    def best_norm_so_far():
        def init(params):
            return {"best": jnp.asarray(jnp.inf), "untouched": jnp.asarray(-jnp.inf)}

        def update(updates, state, params=None):
            del params
            best = jnp.minimum(state["best"], optax.tree.norm(updates))
            return updates, {**state, "best": jnp.where(best > 1e9, jnp.inf, best)}

        return optax.GradientTransformation(init, update)

    opt = optax.chain(best_norm_so_far(), optax.adam(1e-2))
    params = {"w": jnp.ones(3), "mask": jnp.array([0.0, -jnp.inf])}
    state = training.TrainState.create(params, opt, jax.random.key(0))
    step = training.make_train_step(lambda p, b, r: jnp.sum(p["w"] ** 2), opt)
    new, metrics = step(state, {})
    assert not bool(metrics["nonfinite"])
    assert float(new.opt_state[0]["untouched"]) == -np.inf
    assert _bits(new.params) != _bits(state.params)


def test_the_guard_rejects_an_update_that_makes_the_parameters_infinite():
    params = {"w": jnp.full((3,), 2.0)}
    opt = training.make_optimizer(1e38, optimizer="sgd", momentum=0.0, clipping="none")
    state = training.TrainState.create(params, opt, jax.random.key(0))

    def loss(p, batch, rng):
        del batch, rng
        return jnp.sum(p["w"] ** 2) * 10.0  # gradient 40 per entry: 1e38 * 40 = inf

    step = training.make_train_step(loss, opt)
    new, metrics = step(state, {})
    assert bool(metrics["nonfinite"])  # the loss and the gradient are finite; the update is not
    assert _bits(new.params) == _bits(state.params)
    with pytest.raises(training.NonFiniteError, match="last finite step"):
        training.fit(state, step, lambda s: {}, num_steps=5, max_nonfinite_steps=2, progress=False)


def test_train_state_and_step_name_what_is_wrong():
    opt = training.make_optimizer(1e-3)
    params = {"w": jnp.ones(3)}
    with pytest.raises(TypeError, match="`key`"):
        training.TrainState.create(params, opt, None)
    with pytest.raises(ValueError, match=r"`key` .* shape \(5,\)"):
        training.TrainState.create(params, opt, jnp.zeros(5, jnp.uint32))
    state = training.TrainState.create(params, opt, jax.random.key(0))
    vector = training.make_train_step(lambda p, b, r: p["w"] * 2.0, opt)
    with pytest.raises(TypeError, match=r"scalar loss .* shape \(3,\)"):
        vector(state, {})
    seeded = training.make_train_step(lambda p, b, r: jnp.sum(p["w"]), opt, num_seeds=2)
    with pytest.raises(ValueError, match=r"num_seeds=2, .* leading seed axis of 2"):
        seeded(state, {})


def test_runs_without_checkpoints_append_to_one_metrics_file(tmp_path):
    state, opt = _state()
    step = training.make_train_step(_loss, opt)
    batches = training.array_batches(_data(), 8, seed=0)
    path = tmp_path / "metrics.jsonl"
    for _ in range(2):  # no checkpoint restored: nothing is dropped
        training.fit(state, step, batches, num_steps=3, metrics_path=path, progress=False)
    assert [json.loads(line)["step"] for line in path.open()] == [1, 2, 3, 1, 2, 3]


def test_fit_checks_its_output_paths_before_training(tmp_path):
    state, opt = _state()
    step = training.make_train_step(_loss, opt)
    taken = tmp_path / "a_file"
    taken.write_text("not a directory")

    def batches(k):
        raise AssertionError("fit trained before checking its paths")

    from jaxrnn.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="to be a directory, got the file"):
        training.fit(state, step, batches, num_steps=3, checkpoint_dir=taken, progress=False)
    with pytest.raises(ValueError, match="`metrics_path`"):
        training.fit(state, step, batches, num_steps=3, metrics_path=taken / "m.jsonl")
    with pytest.raises(ValueError, match="`metrics_path`"):
        training.fit(state, step, batches, num_steps=3, metrics_path=tmp_path)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_resume_logs_each_step_once(tmp_path, suffix):
    state, opt = _state()
    step = training.make_train_step(_loss, opt)
    batches = training.array_batches(_data(), 8, seed=0)
    path, ckpt = tmp_path / f"metrics{suffix}", tmp_path / "ckpt"
    kwargs = {"metrics_path": path, "checkpoint_dir": ckpt, "progress": False}
    training.fit(state, step, batches, num_steps=5, eval_fn=lambda p: {"n": 1.0}, **kwargs)
    # A crash after step 5's checkpoint leaves rows of steps 6 and 7 that the resumed run
    # logs again.
    crashed = training.fit(state, step, batches, num_steps=7, **kwargs)
    assert int(crashed.state.step) == 7
    import shutil

    shutil.rmtree(ckpt / "7")
    if suffix == ".jsonl":  # and the crash cut the last line short
        path.write_text(path.read_text() + '{"kind": "train", "step": 8, "lo')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        training.fit(state, step, batches, num_steps=9, eval_fn=lambda p: {"n": 1.0}, **kwargs)
    assert (suffix == ".jsonl") == any("unreadable metrics row" in str(w.message) for w in caught)
    # Run again at its end: nothing trained, the final evaluation not logged twice.
    training.fit(state, step, batches, num_steps=9, eval_fn=lambda p: {"n": 1.0}, **kwargs)
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        train = [r["step"] for r in rows if r["kind"] == "train"]
        evals = [r["step"] for r in rows if r["kind"] == "eval"]
    else:
        train = [int(r["step"]) for r in csv.DictReader(path.open())]
        evals = [int(r["step"]) for r in csv.DictReader(path.with_name("metrics_eval.csv").open())]
    assert train == list(range(1, 10))
    assert evals == [5, 9]


INTERRUPTED = """
import json, pathlib, sys, time
import jax, jax.numpy as jnp, numpy as np
from jaxrnn.checkpoint import Checkpointer
from jaxrnn.training import TrainState, fit, make_optimizer, make_train_step

root = pathlib.Path(sys.argv[1])
opt = make_optimizer(1e-3)
params = {f"w{i}": jnp.ones((64, 64)) for i in range(16)}  # saves take a while
state = TrainState.create(params, opt, jax.random.key(0))
step = make_train_step(lambda p, b, r: sum(jnp.sum(v ** 2) for v in p.values()) * 1e-6, opt)
finished = []
jax.block_until_ready(step(state, {}))  # compiled before the first interrupt

def counted(state, batch):
    out = step(state, batch)
    finished.append(int(out[0].step))
    return out

print("ready", flush=True)
for trial in range(1000):
    try:
        fit(state, counted, lambda s: {}, num_steps=10**6, checkpoint_dir=root / "ckpt",
            checkpoint_every=1, keep_checkpoints=2, progress=False)
    except KeyboardInterrupt:
        latest = Checkpointer(root / "ckpt").latest_step()
        tmp = [p.name for p in (root / "ckpt").iterdir() if "tmp" in p.name]
        done = finished[-1] if finished else None  # None: interrupted before any step
        print(json.dumps({"finished": done, "latest": latest, "tmp": tmp}), flush=True)
"""


def test_ctrl_c_during_saves_keeps_the_finished_step(tmp_path):
    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED)
    proc = subprocess.Popen(
        ["timeout", "-k", "5", "120", sys.executable, str(script), str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    child = None
    try:
        assert proc.stdout.readline().strip() == "ready"
        child = int(subprocess.check_output(["pgrep", "-P", str(proc.pid)]))
        rng = np.random.default_rng(0)
        reports = []
        for _ in range(INTERRUPTS):
            time.sleep(0.3 + rng.uniform(0.0, 0.2))  # most of a run's time is in its saves
            os.kill(child, signal.SIGINT)
            line = proc.stdout.readline()
            assert line, proc.stderr.read()[-3000:]
            reports.append(json.loads(line))
    finally:
        # The script itself, not only `timeout`: a SIGKILL to `timeout` leaves its child
        # running (it trains for ever between interrupts).
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        proc.kill()
        proc.wait(timeout=30)
    for report in reports:
        assert report["latest"] == report["finished"], reports  # the finished step is saved
        assert report["tmp"] == [], reports  # no half-written save left behind
    assert len({r["finished"] for r in reports}) == INTERRUPTS  # training went on each time


INTERRUPTS = 12


def test_interrupts_are_held_only_in_the_main_thread():
    import threading

    from jaxrnn import _interrupts

    seen = {}

    def worker():
        with _interrupts.held() as held:
            seen["kind"] = type(held).__name__
            held.check()  # never raises: the main thread's Ctrl-C is not this thread's

    with _interrupts.held() as main:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert type(main).__name__ == "_Held"
    assert seen["kind"] == "_NotHeld"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
