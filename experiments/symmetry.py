r"""Constant initialisation: every hidden unit stays the same unit, and the loss shows it.

If every weight of a layer starts at the same value, every hidden unit computes the same
function of the input, receives the same gradient and takes the same update, so the
units stay identical for ever: a network of :math:`h` units trains as a network of one
(Goodfellow, Bengio & Courville 2016, section 8.4, "the need to break symmetry"; the
reason Glorot & Bengio 2010 and every library draw the initial weights at random).

Measured here on a tanh RNN (``jaxrnn.SimpleRNNCell`` in ``jaxrnn.RNN``, a dense
read-out at every step) regressing the per-step outputs of a random 16-unit tanh
"teacher" RNN on Gaussian input sequences (one teacher, one data stream and one student
initialisation per seed; fresh batches every step, a held-out evaluation batch). Three
students, same optimizer (Adam after global-norm clipping), same batches, same steps:

* ``constant``: every kernel, recurrent kernel and read-out weight at
  ``constant_value``, zero biases (``jaxrnn.initializers.constant``);
* ``random``: jaxrnn's defaults (Glorot input kernel, orthogonal recurrent kernel) and
  Flax's LeCun-normal read-out, the same width;
* ``one_unit``: the random student with a single hidden unit.

The **unit spread** :math:`\max_{i, b, t} |h_{i,b,t} - h_{0,b,t}|` on the evaluation
batch is logged during training. The **rank-1 bound** turns the symmetry into a number
the loss must respect: if all units are equal, :math:`\hat y_t = a\,h_t + c` with a
scalar :math:`h_t` and fixed vectors :math:`a, c`, so every prediction lies on one line
of the output space, and the mean squared error over the evaluation targets is at least
what the best line achieves, :math:`\frac{1}{d}\sum_{k \ge 2} \lambda_k`, the sum of all
but the largest eigenvalue of the targets' covariance (pooled over sequences and steps)
over the output dimension :math:`d` (principal components, Pearson 1901). It is computed
from the evaluation targets in the same run. A symmetric student cannot go below it; a
student whose units differ can, and the random one does.

References:
  Goodfellow, Bengio & Courville, "Deep Learning", MIT Press 2016, section 8.4.
  Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural
  networks", AISTATS 2010. Pearson, "On lines and planes of closest fit to systems of
  points in space", Philosophical Magazine 2(11), 1901.
"""

from __future__ import annotations

import dataclasses
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.figure import Figure

import jaxrnn
from experiments import _harness
from jaxrnn import initializers

NAME = "symmetry"
# Seconds of the quick variant in the suite (2 workers on 2 busy cores): the suite
# starts the longest experiments first.
SUITE_SECONDS = 42
ARMS = ("constant", "random", "one_unit")
LABELS = {
    "constant": "constant init",
    "random": "random init (jaxrnn defaults)",
    "one_unit": "random init, 1 unit",
}

# The seeds the thresholds were chosen on; the defaults (QUICK and FULL) are held out.
CALIBRATION_SEEDS = tuple(range(6))
# Frozen thresholds; the calibration behind them is in Config's docstring.
MAX_CONSTANT_SPREAD = 1e-6  # every logged step and seed: the constant arm's unit spread
MIN_RANDOM_SPREAD = 0.5  # worst seed: the random arm's final unit spread
MAX_RANDOM_OVER_BOUND = 0.2  # worst seed: random arm's final MSE / rank-1 bound
MIN_CONSTANT_OVER_BOUND = 1.0 - 1e-4  # every seed: constant arm's final MSE / bound (theorem)
CONSTANT_OVER_ONE_UNIT = (0.9, 1.1)  # every seed: constant / one-unit final MSE
MAX_RANDOM_OVER_CONSTANT = 0.15  # worst seed: random / constant arm's final MSE


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Constant vs random initialisation of a tanh RNN regressing a random teacher RNN.

    Command line::

        python -m experiments symmetry                  # QUICK
        python -m experiments symmetry --full           # FULL: longer training, more seeds
        python -m experiments symmetry --seeds=0,1,2,3,4,5   # calibration run

    Expected result, each claim against a baseline of the same run (the rank-1 bound of
    the same evaluation targets, or another arm on the same seeds and batches):

    * **constant init keeps the units identical**: the constant arm's unit spread is at
      most ``MAX_CONSTANT_SPREAD`` = 1e-6 at every logged step of every seed (measured:
      exactly 0; Adam's update is elementwise, so identical units get identical bits).
    * **random init does not**: the random arm's final unit spread is at least
      ``MIN_RANDOM_SPREAD`` on the worst seed (the check can see a difference).
    * **the symmetric net is bounded by a line**: the constant arm's final MSE is at
      least ``MIN_CONSTANT_OVER_BOUND`` (1 - 1e-4, rounding) times the rank-1 bound on
      every seed: the theorem, checked.
    * **the random net beats every symmetric net**: its final MSE is at most
      ``MAX_RANDOM_OVER_BOUND`` times the rank-1 bound, worst seed. An absent effect (a
      random student that learnt no more than one unit's worth) would be at 1 or more.
    * **constant init = one unit**: the constant arm's final MSE over the one-unit
      student's, every seed, inside ``CONSTANT_OVER_ONE_UNIT``.
    * **random init beats constant init**: the random arm's final MSE over the constant
      arm's (same seed, teacher and batches) is at most ``MAX_RANDOM_OVER_CONSTANT`` on
      the worst seed; with no effect (both arms symmetric, or the same numbers) it is
      about 1 and the claim fails.

    Reported, not claimed: the gradient spread at initialisation,
    :math:`\max_{i,j} |\partial L / \partial W_{h,ij} - \partial L / \partial W_{h,i0}|`
    over the recurrent kernel's columns (one column per unit) on the evaluation batch:
    exactly 0 for the constant arm (every unit gets the same gradient, so no step can
    separate them), of order 1e-3..1e-2 for the random arm (``grad_spread`` in the
    metrics and the table). ``constant_jitter`` > 0 adds that much Gaussian noise to the
    constant arm's initial weights: the symmetry is then broken from the start and the
    first claim fails (a test runs it).

    Calibration (seeds 0..5, QUICK settings; first thresholds 0.05, 0.5 and [0.8, 1.25],
    then frozen at the values above from these figures): constant arm's spread exactly 0
    at every logged step; random arm's final spread 1.998 (worst); final MSE / rank-1
    bound, constant 1.969 1.835 1.517 1.321 1.493 2.427, one unit 1.972 1.876 1.519 1.327
    1.494 2.370, random .049 .024 .058 .031 .038 .030; constant / one unit .979-1.024.
    ``MAX_RANDOM_OVER_BOUND`` = 0.2 is 3.4x the worst random seed, and the band [0.9,
    1.1] 4x the widest calibration deviation. Held-out check (QUICK, seeds 100..102,
    after freezing): spread 0 / 1.998; MSE / bound constant 1.125 1.584 2.470, one unit
    1.124 1.593 2.315, random .028 .039 .063; constant / one unit .995-1.067: every claim
    passes. QUICK took 20 s wall (30 s CPU: three arms, each one jitted program of every
    seed) on this 2-core CPU; FULL (3000 steps, 10 seeds) is estimated at ~2 minutes.

    Claim (d), random / constant final MSE, was added after the check above: its
    calibration figures (seeds 0..5, from the MSE / bound ratios above) are .025 .013 .038
    .023 .025 .012, so ``MAX_RANDOM_OVER_CONSTANT`` = 0.15 (4x the worst); seeds 100..102
    give .025 .025 .026 (PASS), but they had been seen before (d) was frozen, so this is
    not a clean held-out check. QUICK re-measured after adding (d) and the gradient
    spread: 71 s wall, 36 s CPU, at a load average of about 6 (other sessions); the
    gradient spread at init was 0 0 0 (constant) and 0.088 0.065 0.13 (random).

    Second held-out check, fresh seeds 200..202 (``--seeds=200,201,202``, nothing changed
    after it): (d) passes, random / constant .026 .035 .027; spread 0 / 1.997; constant
    MSE / bound 1.450 1.278 1.187 (the theorem holds). But the band's lower edge FAILS:
    constant / one unit is .874 on seed 200 (0.2879 against 0.3293; .950 and .999 on
    201, 202). Sixteen tied units are one unit only in the function they compute, not in
    their training dynamics (likely: Adam steps each of the 16 copies' weights, whose effect on
    the output adds up), so on some seeds the tied net trains further than the 1-unit
    student; the exact statement is the rank-1 bound, which every seed keeps. The
    thresholds are left as frozen (the default seeds pass); this failure is the reason
    the "like one unit" lower bound should not be read as a law.

    Attributes:
      hidden: hidden units of the constant and random students.
      teacher_hidden: hidden units of the teacher.
      teacher_gain: the teacher's recurrent kernel is N(0, gain^2 / teacher_hidden).
      input_size: input channels (standard normal).
      output_size: outputs per step.
      seq_len: steps per sequence.
      constant_value: the constant arm's every weight.
      constant_jitter: std of Gaussian noise added to the constant arm's initial weights
        (0: exactly constant; > 0 breaks the symmetry, a control).
      steps: Adam steps.
      batch_size: sequences per batch.
      eval_size: held-out evaluation sequences (spread, MSE, bound).
      learning_rate: Adam's learning rate.
      max_grad_norm: global-norm clipping threshold.
      log_every: evaluation period in steps.
      seeds: one teacher, data stream and student initialisation per seed (vmapped);
        the defaults are held out from ``CALIBRATION_SEEDS``.
    """

    hidden: int = 16
    teacher_hidden: int = 16
    teacher_gain: float = 1.2
    input_size: int = 4
    output_size: int = 4
    seq_len: int = 20
    constant_value: float = 0.1
    constant_jitter: float = 0.0
    steps: int = 600
    batch_size: int = 32
    eval_size: int = 512
    learning_rate: float = 1e-2
    max_grad_norm: float = 1.0
    log_every: int = 25
    seeds: tuple[int, ...] = (100, 101, 102)

    def __post_init__(self):
        _harness.check_types(self)
        for field in (
            "hidden", "teacher_hidden", "input_size", "output_size", "seq_len", "steps",
            "batch_size", "eval_size", "log_every",
        ):  # fmt: skip
            if getattr(self, field) < 1:
                raise ValueError(f"Config: expected `{field}` >= 1, got {getattr(self, field)}")
        if self.hidden < 2:
            raise ValueError(
                f"Config: expected `hidden` >= 2 (units to compare), got {self.hidden}"
            )
        if self.output_size < 2:
            raise ValueError(
                f"Config: expected `output_size` >= 2 (a line is a bound only in 2+ "
                f"dimensions), got {self.output_size}"
            )
        for field in ("teacher_gain", "learning_rate", "max_grad_norm"):
            if not getattr(self, field) > 0:
                raise ValueError(f"Config: expected `{field}` > 0, got {getattr(self, field)}")
        if not (np.isfinite(self.constant_value) and self.constant_value != 0):
            raise ValueError(
                f"Config: expected a finite nonzero `constant_value`, got {self.constant_value}"
            )
        if not (np.isfinite(self.constant_jitter) and self.constant_jitter >= 0):
            raise ValueError(
                f"Config: expected a finite `constant_jitter` >= 0, got {self.constant_jitter}"
            )
        if self.log_every > self.steps:
            raise ValueError(
                f"Config: expected `log_every` <= `steps` ({self.steps}), got {self.log_every}"
            )
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"Config: expected distinct `seeds`, at least one, got {self.seeds}")


QUICK = Config()
FULL = Config(steps=3000, seeds=tuple(range(100, 110)))


# ---------------------------------------------------------------------------------------
# Teacher, students, bound.
# ---------------------------------------------------------------------------------------


def teacher_params(config: Config, key: jax.Array) -> dict:
    """A random tanh RNN: ``w_x (i, h)``, ``w_h (h, h)``, ``b (h,)``, ``w_o (h, d)``."""
    k1, k2, k3, k4 = jax.random.split(key, 4)
    h, i, d = config.teacher_hidden, config.input_size, config.output_size
    return {
        "w_x": jax.random.normal(k1, (i, h)) / np.sqrt(i),
        "w_h": jax.random.normal(k2, (h, h)) * config.teacher_gain / np.sqrt(h),
        "b": 0.1 * jax.random.normal(k3, (h,)),
        "w_o": jax.random.normal(k4, (h, d)) / np.sqrt(h),
    }


def teacher(params: dict, x: jax.Array) -> jax.Array:
    r"""The teacher's outputs ``x (b, t, i) -> y (b, t, d)``.

    :math:`h_t = \tanh(x_t W_x + h_{t-1} W_h + b)`, :math:`y_t = h_t W_o`, from
    :math:`h_0 = 0`.
    """

    def step(h, x_t):
        h = jnp.tanh(x_t @ params["w_x"] + h @ params["w_h"] + params["b"])
        return h, h @ params["w_o"]

    h0 = jnp.zeros((x.shape[0], params["w_h"].shape[0]), x.dtype)
    _, y = jax.lax.scan(step, h0, jnp.swapaxes(x, 0, 1))
    return jnp.swapaxes(y, 0, 1)


class Student(nn.Module):
    """``jaxrnn.RNN(cell)`` and a dense read-out at every step; ``hidden`` gives the states.

    Attributes:
      cell: the ``jaxrnn.SimpleRNNCell``.
      output_size: outputs per step.
      head_init: the read-out kernel's initializer; None: Flax's default.
    """

    cell: jaxrnn.SimpleRNNCell
    output_size: int
    head_init: object = None

    def setup(self):  # noqa: D102
        self.rnn = jaxrnn.RNN(self.cell)
        kwargs = {} if self.head_init is None else {"kernel_init": self.head_init}
        self.head = nn.Dense(self.output_size, **kwargs)

    def hidden(self, x):
        """``x (b, t, i) -> h (b, t, units)``."""
        return self.rnn(x)

    def __call__(self, x):
        """``x (b, t, i) -> y (b, t, output_size)``."""
        return self.head(self.rnn(x))


def jittered_constant(value: float, jitter: float):
    """``initializers.constant(value)``, plus N(0, jitter^2) noise when ``jitter`` > 0."""
    base = initializers.constant(value)
    if jitter == 0:
        return base

    def init(key, shape, dtype=jnp.float32):
        return base(key, shape, dtype) + jitter * jax.random.normal(key, shape, dtype)

    return init


def make_student(config: Config, arm: str) -> Student:
    """The student of ``arm`` (see the module docstring)."""
    if arm == "constant":
        c = jittered_constant(config.constant_value, config.constant_jitter)
        cell = jaxrnn.SimpleRNNCell(
            config.hidden, kernel_init=c, recurrent_kernel_init=c, bias_init="zeros"
        )
        return Student(cell, config.output_size, head_init=c)
    if arm == "random":
        return Student(jaxrnn.SimpleRNNCell(config.hidden), config.output_size)
    if arm == "one_unit":
        return Student(jaxrnn.SimpleRNNCell(1), config.output_size)
    raise ValueError(f"make_student: unknown arm {arm!r}; known: {', '.join(ARMS)}")


def rank_one_bound(y: np.ndarray) -> float:
    r"""The least mean squared error of any predictor whose outputs lie on one line.

    Args:
      y: targets ``(..., d)``, pooled over every leading axis.

    Returns:
      :math:`\frac{1}{d}\sum_{k \ge 2} \lambda_k` of the targets' (biased) covariance:
      the per-entry MSE of their projection on the first principal line.
    """
    y = np.asarray(y, np.float64).reshape(-1, np.shape(y)[-1])
    eigenvalues = np.linalg.eigvalsh(np.cov(y, rowvar=False, bias=True))
    return float(eigenvalues[:-1].sum() / y.shape[1])


def unit_spread(h: jax.Array) -> jax.Array:
    r""":math:`\max |h_i - h_0|` over units, sequences and steps of ``h (b, t, units)``."""
    return jnp.max(jnp.abs(h - h[..., :1]))


def column_spread(grad: jax.Array) -> jax.Array:
    r""":math:`\max_{i,j} |G_{ij} - G_{i0}|`: how much the columns (units) of ``grad`` differ."""
    return jnp.max(jnp.abs(grad - grad[:, :1]))


def _batch(config: Config, key, size):
    return jax.random.normal(key, (size, config.seq_len, config.input_size))


def train_arm(config: Config, arm: str) -> dict:
    """Trains ``arm`` on every seed (one vmapped, jitted ``lax.scan`` program).

    Returns:
      ``mse (logs, seeds)`` held-out MSE, ``spread (logs, seeds)`` unit spread (NaN for
      one unit), ``grad_spread (seeds,)`` the recurrent kernel gradient's column spread
      at initialisation on the evaluation batch (NaN for one unit), ``logged_steps
      (logs,)`` (0 included), ``bound (seeds,)`` the rank-1 bound of the evaluation
      targets, ``seconds``.
    """
    model = make_student(config, arm)
    optimizer = optax.chain(
        optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate)
    )
    num_logs = config.steps // config.log_every

    def one_seed(seed):
        key = jax.random.key(seed)
        k_teacher, k_eval, k_init, k_data = jax.random.split(key, 4)
        tp = teacher_params(config, k_teacher)
        x_eval = _batch(config, k_eval, config.eval_size)
        y_eval = teacher(tp, x_eval)
        params = model.init(k_init, x_eval[:1])
        opt_state = optimizer.init(params)

        def loss_fn(p, x, y):
            return jnp.mean((model.apply(p, x) - y) ** 2)

        def measure(p):
            mse = loss_fn(p, x_eval, y_eval)
            spread = unit_spread(model.apply(p, x_eval, method=Student.hidden))
            return mse, spread

        def step(carry, i):
            p, s = carry
            x = _batch(config, jax.random.fold_in(k_data, i), config.batch_size)
            grads = jax.grad(loss_fn)(p, x, teacher(tp, x))
            updates, s = optimizer.update(grads, s, p)
            return (optax.apply_updates(p, updates), s), None

        def block(carry, j):
            carry, _ = jax.lax.scan(
                step, carry, j * config.log_every + jnp.arange(config.log_every)
            )
            return carry, measure(carry[0])

        _, (mse, spread) = jax.lax.scan(block, (params, opt_state), jnp.arange(num_logs))
        mse0, spread0 = measure(params)
        grad0 = jax.grad(loss_fn)(params, x_eval, y_eval)
        return (
            jnp.concatenate([mse0[None], mse]),
            jnp.concatenate([spread0[None], spread]),
            column_spread(grad0["params"]["cell"]["recurrent_kernel"]),
            y_eval,
        )

    start = time.perf_counter()
    mse, spread, grad_spread, y_eval = jax.jit(jax.vmap(one_seed))(jnp.asarray(config.seeds))
    mse, spread = np.asarray(mse, np.float64).T, np.asarray(spread, np.float64).T
    grad_spread = np.asarray(grad_spread, np.float64)
    seconds = time.perf_counter() - start
    if arm == "one_unit":
        spread = np.full_like(spread, np.nan)
        grad_spread = np.full_like(grad_spread, np.nan)
    return {
        "mse": mse,
        "spread": spread,
        "grad_spread": grad_spread,
        "logged_steps": np.arange(num_logs + 1) * config.log_every,
        "bound": np.asarray([rank_one_bound(y) for y in np.asarray(y_eval)]),
        "target_variance": np.asarray(y_eval, np.float64).var(axis=(1, 2)).mean(-1),
        "seconds": seconds,
    }


def measure(config: Config) -> dict:
    """``{arm: train_arm(config, arm)}`` for every arm (the bound is the same in each)."""
    return {arm: train_arm(config, arm) for arm in ARMS}


# ---------------------------------------------------------------------------------------
# Claims, table, figure, run.
# ---------------------------------------------------------------------------------------


def claims(m: dict) -> list[_harness.Claim]:
    """The claims of ``Config``'s docstring from ``measure``'s output."""
    const, rand, one = m["constant"], m["random"], m["one_unit"]
    bound = const["bound"]
    return [
        _harness.versus(
            "constant init: unit spread max |h_i - h_0| at every logged step (worst seed)",
            const["spread"].max(0),
            "theory: identical units",
            0.0,
            high=MAX_CONSTANT_SPREAD,
            reduce="max",
            relative=False,
        ),
        _harness.versus(
            "random init: final unit spread, the units differ (worst seed)",
            rand["spread"][-1],
            "theory: identical units",
            0.0,
            low=MIN_RANDOM_SPREAD,
            reduce="min",
            relative=False,
        ),
        _harness.versus(
            "constant init: final MSE at or above the rank-1 bound, every seed (the theorem)",
            const["mse"][-1],
            "rank-1 bound (best line through the eval targets)",
            bound,
            low=MIN_CONSTANT_OVER_BOUND,
            reduce="min",
        ),
        _harness.versus(
            "random init: final MSE below the rank-1 bound, which no symmetric net can pass "
            "(worst seed)",
            rand["mse"][-1],
            "rank-1 bound (best line through the eval targets)",
            bound,
            high=MAX_RANDOM_OVER_BOUND,
            reduce="max",
        ),
        _harness.versus(
            "constant init trains like one unit: final MSE over the 1-unit student's, worst seed",
            const["mse"][-1],
            "random init, 1 unit (same seeds, same batches)",
            one["mse"][-1],
            high=CONSTANT_OVER_ONE_UNIT[1],
            reduce="max",
        ),
        _harness.versus(
            "constant init trains like one unit: final MSE over the 1-unit student's, best seed",
            const["mse"][-1],
            "random init, 1 unit (same seeds, same batches)",
            one["mse"][-1],
            low=CONSTANT_OVER_ONE_UNIT[0],
            reduce="min",
        ),
        _harness.versus(
            "random init below constant init: final MSE ratio (worst seed)",
            rand["mse"][-1],
            "constant init (same seeds, same batches)",
            const["mse"][-1],
            high=MAX_RANDOM_OVER_CONSTANT,
            reduce="max",
        ),
    ]


def _table(m: dict) -> str:
    rows = [("arm", "final MSE per seed", "/ bound", "final unit spread", "grad spread", "s")]
    bound = m["constant"]["bound"]
    for arm in ARMS:
        r = m[arm]
        rows.append(
            (
                LABELS[arm],
                " ".join(f"{v:.4f}" for v in r["mse"][-1]),
                " ".join(f"{v:.3f}" for v in r["mse"][-1] / bound),
                " ".join("-" if np.isnan(v) else f"{v:.2g}" for v in r["spread"][-1]),
                " ".join("-" if np.isnan(v) else f"{v:.2g}" for v in r["grad_spread"]),
                f"{r['seconds']:.1f}",
            )
        )
    rows.append(("rank-1 bound", " ".join(f"{v:.4f}" for v in bound), "1", "", "", ""))
    tv = m["constant"]["target_variance"]
    rows.append(("target variance", " ".join(f"{v:.4f}" for v in tv), "", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def _figure(config: Config, m: dict) -> Figure:
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    spread_ax, mse_ax = fig.subplots(1, 2)
    floor = 1e-12
    for i, arm in enumerate(("constant", "random")):
        r = m[arm]
        values = np.maximum(r["spread"], floor)
        spread_ax.plot(r["logged_steps"], values, color=f"C{i}", alpha=0.6)
        spread_ax.plot([], [], color=f"C{i}", label=LABELS[arm])
    spread_ax.axhline(MAX_CONSTANT_SPREAD, color="red", ls="--", lw=0.8, label="claim threshold")
    spread_ax.set(
        yscale="log",
        xlabel="step",
        ylabel=f"max |h_i - h_0| (floored at {floor:g})",
        title="unit spread on the eval batch (lines: seeds)",
    )
    spread_ax.grid(alpha=0.3)
    spread_ax.legend(fontsize="small")
    bound = m["constant"]["bound"]
    for i, arm in enumerate(ARMS):
        r = m[arm]
        rel = r["mse"] / bound[None]
        mse_ax.plot(r["logged_steps"], rel.mean(1), color=f"C{i}", label=LABELS[arm])
        mse_ax.fill_between(r["logged_steps"], rel.min(1), rel.max(1), color=f"C{i}", alpha=0.2)
    mse_ax.axhline(1.0, color="black", ls="--", label="rank-1 bound (no symmetric net below)")
    mse_ax.set(
        yscale="log",
        xlabel="step",
        ylabel="eval MSE / rank-1 bound",
        title=f"{config.hidden}-unit tanh RNN students of a random teacher (mean, min-max)",
    )
    mse_ax.grid(alpha=0.3)
    mse_ax.legend(fontsize="small")
    return fig


def _summary(config: Config, m: dict) -> str:
    bound = m["constant"]["bound"]
    parts = ", ".join(
        f"{LABELS[a]} {np.mean(m[a]['mse'][-1] / bound):.3f}x the bound" for a in ARMS
    )
    return (
        f"A tanh RNN of {config.hidden} units regressing a random {config.teacher_hidden}-unit "
        f"teacher's {config.output_size} outputs per step (T = {config.seq_len}), "
        f"{config.steps} Adam steps, {len(config.seeds)} seeds. The constant-initialised "
        f"student's units stayed identical (largest spread "
        f"{np.max(m['constant']['spread']):.2g}) and its loss stayed above the rank-1 bound "
        f"(the best line through the targets, {np.mean(bound):.4f}); the randomly "
        f"initialised student's units differ (final spread "
        f"{np.min(m['random']['spread'][-1]):.2g} at least) and it went below. Final eval "
        f"MSE, seed mean: {parts}."
    )


def run(config: Config = QUICK) -> _harness.Result:
    """Runs the experiment; see ``Config`` for the expected result."""
    m = measure(config)
    m["thresholds"] = {
        "max_constant_spread": MAX_CONSTANT_SPREAD,
        "min_random_spread": MIN_RANDOM_SPREAD,
        "max_random_over_bound": MAX_RANDOM_OVER_BOUND,
        "min_constant_over_bound": MIN_CONSTANT_OVER_BOUND,
        "constant_over_one_unit": CONSTANT_OVER_ONE_UNIT,
        "max_random_over_constant": MAX_RANDOM_OVER_CONSTANT,
    }
    return _harness.Result(
        name=NAME,
        config=config,
        seeds=config.seeds,
        metrics=m,
        claims=claims(m),
        summary=_summary(config, m),
        table=_table(m),
        figures={"symmetry": _figure(config, m)},
        calibration_seeds=CALIBRATION_SEEDS,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.symmetry [--full] [--key=value ...]``."""
    return _harness.module_main(NAME, __name__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
