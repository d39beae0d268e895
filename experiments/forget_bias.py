"""Forget-gate bias of the LSTM (0, 1, 2, chrono) on the adding and copy tasks: training core.

Unfinished: this module holds the arms and the trainer only; there is no ``Config``,
``run``, claims or figure yet, and it is not registered in ``experiments/__main__.py``.

The arms (``bias_cells``) are LSTM cells that differ only in ``bias_init``:
``initializers.lstm_bias(forget=b)`` for b = 0, 1, 2 (Gers, Schmidhuber & Cummins 2000;
Jozefowicz, Zaremba & Sutskever 2015) and ``initializers.chrono(t_max)`` (Tallec &
Ollivier 2018: b_f ~ log U[1, T_max - 1], b_i = -b_f). ``train_arms`` trains every arm
and seed as one vmapped ``_trainer.train_seeds`` program (one compilation per task and
length): each run starts from the b_f = 0 model's weights for its seed (so the kernels
are the same in every arm) with its arm's initial bias added as a constant offset to a
trained bias started at 0. With Adam or RMSprop and gradient clipping the updates depend
on the gradients only, which are the same for the offset bias as for a bias initialised
to the arm's value, so each run follows the trajectory of its arm's cell. Every arm of a
seed sees the same training batches and evaluation sequences (``_synthetic.make_split``).

References:
  Gers, Schmidhuber & Cummins, "Learning to forget: continual prediction with LSTM",
  Neural Computation 2000. Jozefowicz, Zaremba & Sutskever, "An empirical exploration of
  recurrent network architectures", ICML 2015. Tallec & Ollivier, "Can recurrent neural
  networks warp time?", ICLR 2018.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from experiments import _synthetic, _trainer
from jaxrnn import initializers

ARMS = ("forget0", "forget1", "forget2", "chrono")
BIAS_PATH = ("params", "rnn", "rnn0", "cell", "bias")


def bias_cells(hidden: int, t_max: float) -> dict[str, tuple[str, jaxrnn.LSTMCell]]:
    """Arm name -> (label, LSTM cell); the cells differ only in ``bias_init``."""

    def lstm(bias_init):
        return jaxrnn.LSTMCell(hidden, bias_init=bias_init)

    return {
        "forget0": ("LSTM, b_f = 0", lstm(initializers.lstm_bias(forget=0.0))),
        "forget1": ("LSTM, b_f = 1", lstm(initializers.lstm_bias(forget=1.0))),
        "forget2": ("LSTM, b_f = 2", lstm(initializers.lstm_bias(forget=2.0))),
        "chrono": (f"LSTM, chrono T_max = {t_max:g}", lstm(initializers.chrono(t_max=t_max))),
    }


def _get(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def _with_bias(params, bias):
    params = jax.tree_util.tree_map(lambda a: a, params)  # a copy of the dicts
    node = params
    for key in BIAS_PATH[:-1]:
        node = node[key]
    node[BIAS_PATH[-1]] = node[BIAS_PATH[-1]] + bias
    return params


def initial_biases(task, cells, hidden, init_keys, example):
    """``{arm: (s, 4h)}`` the initial LSTM bias of each arm and seed.

    Each arm's model is initialised from the key ``train_seeds`` gives it (the first half
    of each seed's split), in one jitted program for every arm, of which only the biases
    are kept (XLA drops the kernels' draws): the same numbers as an eager ``init`` per
    arm, in well under a second instead of ~12 s.
    """
    arm_models = {
        name: _synthetic.make_model(task.head, cell, hidden) for name, (_, cell) in cells.items()
    }

    @jax.jit
    def biases(keys):
        def one(model, key):
            return _get(model.init(jax.random.split(key)[0], example), BIAS_PATH)

        return {
            name: jax.vmap(functools.partial(one, model))(keys)
            for name, model in arm_models.items()
        }

    return biases(init_keys)


def train_arms(task, length, split, optimizer, *, hidden, batch_size, num_steps, t_max, arms):
    """Trains every arm on every seed of ``split`` at once.

    Returns:
      ``{arm: {"loss": (steps, s), "final": (s,), "seconds", "initial_forget_bias": (s,)}}``
      (``seconds`` is the one program's wall time, shared by the arms).
    """
    cells = bias_cells(hidden, t_max)
    cells = {name: cells[name] for name in arms}
    example = split.eval[0][0, :1, :1]
    biases = initial_biases(task, cells, hidden, split.init_keys, example)
    base = _synthetic.make_model(task.head, cells[arms[0]][1].clone(bias_init="zeros"), hidden)
    num_seeds, num_arms = len(split.init_keys), len(arms)
    offsets = jnp.concatenate([biases[name] for name in arms])  # (a s, 4h), arm-major
    keys = jnp.concatenate([split.init_keys] * num_arms)
    stream = _synthetic.fresh_batches(task, split.data_keys, batch_size, length)

    def tile(tree):
        return jax.tree_util.tree_map(lambda a: jnp.concatenate([a] * num_arms), tree)

    @jax.jit
    def batches(step):
        return {**tile(stream(step)), "bias": offsets}

    def loss_fn(params, batch, rng):
        del rng
        return task.loss(base.apply(_with_bias(params, batch["bias"]), batch["x"]), batch["y"])

    eval_x, eval_y = tile(split.eval)

    @jax.jit
    def evaluate(params):
        held = {"x": eval_x, "y": eval_y, "bias": offsets}
        return {"metric": jax.vmap(loss_fn, in_axes=(0, 0, None))(params, held, None)}

    start = time.perf_counter()
    runs = _trainer.train_seeds(
        lambda key: base.init(key, example),
        loss_fn,
        optimizer,
        batches,
        keys,
        num_steps=num_steps,
        eval_fn=evaluate,
        description=f"{task.name} T={length} forget biases",
    )
    seconds = time.perf_counter() - start
    final = np.asarray(runs.final["metric"], np.float64).reshape(num_arms, num_seeds)
    loss = runs.loss.reshape(len(runs.loss), num_arms, num_seeds)
    return {
        name: {
            "loss": loss[:, a],
            "final": final[a],
            "seconds": seconds,
            "initial_forget_bias": np.asarray(biases[name]).reshape(num_seeds, 4, -1)[:, 1].mean(1),
        }
        for a, name in enumerate(arms)
    }
