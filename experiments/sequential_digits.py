r"""Sequential MNIST, shrunk: scikit-learn's 8x8 digits read one pixel per step (T = 64).

Each 8x8 image of ``sklearn.datasets.load_digits()`` (1797 images, bundled with
scikit-learn, no download) becomes a sequence of 64 scalars in [0, 1] (pixel / 16), read
row by row (``plain``) or in one fixed random order (``permuted``, the same permutation
for train and test, drawn from ``permutation_seed``). A recurrent net reads the sequence
and a linear classifier on its last hidden state predicts the digit (chance 10%):
``jaxrnn.models.SequenceClassifier(cell, 10, pooling="last")``, trained with Adam after
global-norm clipping through ``jaxrnn.training.fit``, several seeds vmapped in one
program.

Cells: LSTM (forget bias 1), GRU, IRNN (ReLU, :math:`W_{hh} = I`,
:math:`W_{xh} \sim \mathcal{N}(0, 0.001^2)`, Le et al.) and the tanh RNN (orthogonal
recurrent kernel, Glorot input kernel: jaxrnn's defaults).

The published sequential MNIST numbers (T = 784, 100 units; Cooijmans et al. 2016, Table
1) are IRNN 97.0% / permuted 82.0%, tanh RNN 35.0% / 35.0%, LSTM 98.9% / 90.2%. At T = 64
and a CPU budget of a few hundred steps the absolute numbers differ; what is checked is
what survives the shrinking (see ``Config``).

References:
  Le, Jaitly & Hinton, "A simple way to initialize recurrent networks of rectified linear
  units", arXiv:1504.00941, 2015. Cooijmans, Ballas, Laurent, Gülçehre & Courville,
  "Recurrent batch normalization", ICLR 2017 (arXiv:1603.09025), Table 1.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.figure import Figure

import jaxrnn
from experiments import _harness
from jaxrnn import models, training

NAME = "sequential_digits"
NUM_CLASSES = 10
SEQ_LEN = 64
ORDERS = ("plain", "permuted")
LABELS = {"lstm": "LSTM", "gru": "GRU", "irnn": "IRNN", "tanh": "tanh RNN"}
LEARNERS = ("lstm", "gru", "tanh")

# Frozen thresholds; the calibration behind them is in Config's docstring.
LEARNER_MIN_ACCURACY = 0.45  # worst seed, LSTM, GRU and tanh RNN, every order
IRNN_MAX_ACCURACY = 0.20  # best seed, IRNN, every order: it does not leave chance


def make_cell(name: str, hidden: int) -> jaxrnn.RecurrentCell:
    """The cell template of model ``name`` (``lstm``, ``gru``, ``irnn`` or ``tanh``)."""
    if name == "lstm":
        return jaxrnn.LSTMCell(hidden)
    if name == "gru":
        return jaxrnn.GRUCell(hidden)
    if name == "irnn":
        return jaxrnn.SimpleRNNCell(
            hidden,
            activation="relu",
            recurrent_kernel_init=("identity", {"gain": 1.0}),
            kernel_init=("normal", {"stddev": 0.001}),
        )
    if name == "tanh":
        return jaxrnn.SimpleRNNCell(hidden)
    raise ValueError(f"make_cell: unknown model {name!r}; known: {', '.join(LABELS)}")


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Test accuracy of four recurrent nets on pixel-by-pixel 8x8 digits.

    Command line::

        python -m experiments sequential_digits          # QUICK: 2 seeds, 1-4 min *
        python -m experiments sequential_digits --full   # FULL: h 64, 4 seeds, 900 steps, >10 min *
        python -m experiments sequential_digits --models=lstm,irnn --orders=permuted

    \* wall time on 2 cores shared with other jobs (load average 5-10), compile included.

    Expected result (QUICK), the claims:

    * LSTM, GRU and the tanh RNN reach >= 45% test accuracy (4.5x chance) for every
      seed, plain and permuted (measured 57-82%). At T = 64 the tanh RNN is *not* stuck
      near 35% as on T = 784 MNIST: with jaxrnn's orthogonal recurrent init it learns
      fastest of the four on this budget (plain 81%, permuted 78%, against LSTM 75% /
      61%, GRU 75% / 68%); the gated cells are still climbing at 300 steps.
    * the IRNN (Le et al.'s init: identity recurrence, input weights N(0, 0.001²),
      ReLU) stays at chance, <= 20% for every seed (measured 10.0-10.3%, training loss
      flat at ln 10): with Adam at 1e-2 or 1e-3 and clipping at 1 it never leaves the
      start within 300 steps. The published 97% used plain SGD with a tiny learning
      rate over many epochs; public reproductions report the IRNN as unstable.

    Calibration, before freezing (hidden 32, 300 steps of 64, clip 1, split seed 0,
    permutation seed 0; test accuracy per seed):

    * lr 1e-2, seeds 0, 1: plain LSTM .706 .800, GRU .750 .742, IRNN .103 .100, tanh
      .806 .819; permuted LSTM .569 .656, GRU .694 .669, IRNN .103 .100, tanh .822 .742.
    * lr 1e-3, IRNN alone, seeds 0, 1: .103 .100 (loss 2.302 at step 300).
    * hidden 64, lr 3e-3, seeds 0..2: plain LSTM .68-.71, GRU .69-.73, IRNN .10-.18,
      tanh .86-.94; permuted LSTM .61-.67, GRU .63-.66, IRNN .10, tanh .86-.90 (6 min
      on a loaded machine, hence the smaller QUICK).
    * Frozen: 45% for the learners (the worst of 12 learner runs at QUICK was 57%, 12
      points of margin; seed spread ~±5 points); IRNN <= 20% (all 12 IRNN runs above
      were <= 17.5%). The 80%+ one might expect of gated cells needs more than the
      QUICK budget (FULL: 3x the steps, not calibrated for lack of CPU time).

    Attributes:
      hidden: hidden units of every cell.
      steps: training steps (batches) per model and order.
      batch_size: sequences per batch (per seed).
      learning_rate: Adam's learning rate, every model.
      max_grad_norm: global-norm clipping threshold.
      test_fraction: fraction of the 1797 images held out (stratified split).
      split_seed: seed of the train/test split.
      permutation_seed: seed of the pixel permutation of the ``permuted`` order.
      models: any of ``lstm``, ``gru``, ``irnn``, ``tanh``.
      orders: any of ``plain``, ``permuted``.
      seeds: one initialisation and data order per seed, trained together (vmapped);
        claims take the worst seed.
      log_every: training-loss logging period (the loss figure).
    """

    hidden: int = 32
    steps: int = 300
    batch_size: int = 64
    learning_rate: float = 1e-2
    max_grad_norm: float = 1.0
    test_fraction: float = 0.2
    split_seed: int = 0
    permutation_seed: int = 0
    models: tuple[str, ...] = ("lstm", "gru", "irnn", "tanh")
    orders: tuple[str, ...] = ORDERS
    seeds: tuple[int, ...] = (0, 1)
    log_every: int = 10

    def __post_init__(self):
        _harness.check_types(self)
        for field in ("hidden", "steps", "batch_size", "log_every"):
            if getattr(self, field) < 1:
                raise ValueError(f"Config: expected `{field}` >= 1, got {getattr(self, field)}")
        for field in ("learning_rate", "max_grad_norm"):
            if not getattr(self, field) > 0:
                raise ValueError(f"Config: expected `{field}` > 0, got {getattr(self, field)}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"Config: expected 0 < `test_fraction` < 1, got {self.test_fraction}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"Config: expected distinct `seeds`, at least one, got {self.seeds}")
        for field, known in (("models", LABELS), ("orders", ORDERS)):
            values = getattr(self, field)
            unknown = [v for v in values if v not in known]
            if unknown:
                raise ValueError(f"Config: unknown `{field}` {unknown}; known: {', '.join(known)}")
            if not values or len(set(values)) != len(values):
                raise ValueError(f"Config: expected `{field}` non-empty and distinct, got {values}")


QUICK = Config()
FULL = Config(hidden=64, steps=900, learning_rate=3e-3, seeds=(0, 1, 2, 3))


# ---------------------------------------------------------------------------------------
# Data.
# ---------------------------------------------------------------------------------------


def pixel_permutation(seed: int) -> np.ndarray:
    """The fixed pixel order of the ``permuted`` task: a permutation of ``range(64)``."""
    return np.random.default_rng(seed).permutation(SEQ_LEN)


@functools.lru_cache(maxsize=8)
def _split(test_fraction: float, split_seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    pixels = (digits.images.reshape(-1, SEQ_LEN) / 16.0).astype(np.float32)
    return tuple(
        train_test_split(
            pixels,
            digits.target.astype(np.int32),
            test_size=test_fraction,
            random_state=split_seed,
            stratify=digits.target,
        )
    )


def load_data(
    test_fraction: float, split_seed: int, permutation: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The digits as pixel sequences, split into train and test.

    Args:
      test_fraction: fraction held out (stratified by class).
      split_seed: seed of the split.
      permutation: optional ``(64,)`` pixel order, applied to train and test alike.

    Returns:
      ``x_train (n, 64, 1)``, ``y_train (n,)``, ``x_test (m, 64, 1)``, ``y_test (m,)``;
      pixels in [0, 1], labels int32 in 0..9.
    """
    x_train, x_test, y_train, y_test = _split(test_fraction, split_seed)
    if permutation is not None:
        x_train, x_test = x_train[:, permutation], x_test[:, permutation]
    return {
        "x_train": x_train[..., None],
        "y_train": y_train,
        "x_test": x_test[..., None],
        "y_test": y_test,
    }


# ---------------------------------------------------------------------------------------
# Training.
# ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _programs(config: Config, model_name: str):
    """The jitted ``create``, ``step`` and ``accuracy`` of one model, built once.

    Cached so that the plain and permuted runs share one compilation.
    """
    model = models.SequenceClassifier(make_cell(model_name, config.hidden), NUM_CLASSES)
    optimizer = training.make_optimizer(config.learning_rate, config.max_grad_norm)
    example = jnp.zeros((1, SEQ_LEN, 1))

    def create(key):
        init_key, rng_key = jax.random.split(key)
        return training.TrainState.create(model.init(init_key, example), optimizer, rng_key)

    def loss_fn(params, batch, rng):
        del rng
        logits = model.apply(params, batch["x"])
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean()
        return loss, {"accuracy": (logits.argmax(-1) == batch["y"]).mean()}

    @jax.jit
    def accuracy(params, x, y):
        logits = jax.vmap(lambda p: model.apply(p, x))(params)
        return (logits.argmax(-1) == y[None]).mean(-1)

    step = training.make_train_step(loss_fn, optimizer, num_seeds=len(config.seeds))
    return jax.jit(jax.vmap(create)), step, accuracy


def train(config: Config, model_name: str, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Trains one model on one order for every seed (vmapped) through ``training.fit``.

    Returns:
      ``test_accuracy (seeds,)``, ``train_accuracy (seeds,)``, ``loss (logs, seeds)``,
      ``logged_steps (logs,)``, ``nonfinite_steps (seeds,)``, ``seconds`` (wall time,
      compile included).
    """
    create, step, accuracy = _programs(config, model_name)
    start = time.perf_counter()
    state = create(jnp.stack([jax.random.key(seed) for seed in config.seeds]))
    per_seed = [
        training.array_batches(
            {"x": data["x_train"], "y": data["y_train"]}, config.batch_size, seed
        )
        for seed in config.seeds
    ]

    def batches(index):
        parts = [batch(index) for batch in per_seed]
        return {k: np.stack([p[k] for p in parts]) for k in parts[0]}

    def eval_fn(params):
        return {
            "test_accuracy": accuracy(params, data["x_test"], data["y_test"]),
            "train_accuracy": accuracy(params, data["x_train"], data["y_train"]),
        }

    result = training.fit(
        state,
        step,
        batches,
        num_steps=config.steps,
        eval_fn=eval_fn,
        log_every=config.log_every,
        progress=False,
        description=f"{NAME} {model_name}",
    )
    seconds = time.perf_counter() - start
    final = result.evals[-1]
    return {
        "test_accuracy": np.asarray(final["test_accuracy"]),
        "train_accuracy": np.asarray(final["train_accuracy"]),
        "loss": np.asarray([row["loss"] for row in result.history]),
        "logged_steps": np.asarray([row["step"] for row in result.history]),
        "nonfinite_steps": np.asarray(jax.device_get(result.state.nonfinite_total)),
        "seconds": seconds,
    }


def measure(config: Config) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """``{order: {model: train(...)}}`` for every order and model of ``config``."""
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for order in config.orders:
        permutation = pixel_permutation(config.permutation_seed) if order == "permuted" else None
        data = load_data(config.test_fraction, config.split_seed, permutation)
        out[order] = {name: train(config, name, data) for name in config.models}
    return out


# ---------------------------------------------------------------------------------------
# Claims, table, figure, summary.
# ---------------------------------------------------------------------------------------


def _claims(config: Config, measured: dict) -> tuple[list[_harness.Claim], list[str]]:
    claims, skipped = [], []
    for order in config.orders:
        for name in LEARNERS:
            if name not in config.models:
                skipped.append(f"{LABELS[name]} {order}")
                continue
            claims.append(
                _harness.within(
                    f"{LABELS[name]}, {order}: test accuracy (worst seed)",
                    measured[order][name]["test_accuracy"].min(),
                    low=LEARNER_MIN_ACCURACY,
                )
            )
        if "irnn" in config.models:
            claims.append(
                _harness.within(
                    f"IRNN, {order}: stays at chance, test accuracy (best seed)",
                    measured[order]["irnn"]["test_accuracy"].max(),
                    high=IRNN_MAX_ACCURACY,
                )
            )
        else:
            skipped.append(f"IRNN {order}")
    return claims, skipped


def _table(config: Config, measured: dict) -> str:
    rows = [("order", "model", "test acc per seed", "mean", "train acc mean", "seconds")]
    for order, per_model in measured.items():
        for name, m in per_model.items():
            rows.append(
                (
                    order,
                    LABELS[name],
                    " ".join(f"{a:.3f}" for a in m["test_accuracy"]),
                    f"{m['test_accuracy'].mean():.3f}",
                    f"{m['train_accuracy'].mean():.3f}",
                    f"{m['seconds']:.1f}",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def _figure(config: Config, measured: dict) -> Figure:
    orders = list(measured)
    fig = Figure(figsize=(5.5 * len(orders), 7.5), layout="constrained")
    axes = fig.subplots(2, len(orders), squeeze=False)
    for column, order in enumerate(orders):
        ax = axes[0, column]
        for name, m in measured[order].items():
            loss = m["loss"]
            (line,) = ax.plot(m["logged_steps"], loss.mean(1), label=LABELS[name])
            ax.fill_between(
                m["logged_steps"], loss.min(1), loss.max(1), alpha=0.2, color=line.get_color()
            )
        ax.axhline(np.log(NUM_CLASSES), color="gray", ls=":", label="chance (ln 10)")
        ax.set(title=f"{order}: training loss", xlabel="step", ylabel="cross-entropy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        ax = axes[1, column]
        names = list(measured[order])
        for i, name in enumerate(names):
            acc = measured[order][name]["test_accuracy"]
            ax.bar(i, acc.mean(), color=f"C{i}", alpha=0.6)
            ax.plot(np.full(acc.shape, i), acc, "k.", ms=6)
        ax.axhline(1 / NUM_CLASSES, color="gray", ls=":", label="chance")
        ax.axhline(LEARNER_MIN_ACCURACY, color="red", ls="--", lw=0.8, label="claim threshold")
        ax.set_xticks(range(len(names)), [LABELS[n] for n in names])
        ax.set(title=f"{order}: test accuracy (bar: mean, dots: seeds)", ylim=(0, 1))
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize="small", loc="lower right")
    return fig


def _summary(config: Config, measured: dict, skipped: list[str]) -> str:
    parts = []
    for order, per_model in measured.items():
        accs = ", ".join(
            f"{LABELS[n]} {m['test_accuracy'].mean():.0%} "
            f"[{m['test_accuracy'].min():.0%}-{m['test_accuracy'].max():.0%}]"
            for n, m in per_model.items()
        )
        parts.append(f"{order}: {accs}")
    text = (
        f"The 8x8 digits read pixel by pixel (T = {SEQ_LEN}, one feature in [0, 1]), "
        f"{config.hidden} hidden units, {config.steps} Adam steps of {config.batch_size} "
        f"(lr {config.learning_rate:g}, clip {config.max_grad_norm:g}), "
        f"{len(config.seeds)} seeds; test accuracy, seed mean [range], chance 10%: "
        + "; ".join(parts)
        + ". Sequential MNIST (T = 784) gives LSTM 98.9% / 90.2%, IRNN 97% / 82%, tanh RNN "
        "35% (Cooijmans et al. 2016). At T = 64, 12x shorter, the tanh RNN with an "
        "orthogonal recurrent kernel is not stuck: on this short budget it learns as fast "
        "as the gated cells or faster, which are still improving; the IRNN with Le et "
        "al.'s initialisation does not leave chance under Adam (loss flat at ln 10), the "
        "instability reproductions report, not the published 97%."
    )
    if skipped:
        text += f" Claims not checked (not in this config): {'; '.join(skipped)}."
    return text


def run(config: Config = QUICK) -> _harness.Result:
    """Runs the experiment; see ``Config`` for the expected result."""
    measured = measure(config)
    claims, skipped = _claims(config, measured)
    metrics = {
        "chance": 1 / NUM_CLASSES,
        "seq_len": SEQ_LEN,
        "permutation": pixel_permutation(config.permutation_seed),
        "results": measured,
        "thresholds": {
            "learner_min_accuracy": LEARNER_MIN_ACCURACY,
            "irnn_max_accuracy": IRNN_MAX_ACCURACY,
        },
    }
    return _harness.Result(
        name=NAME,
        config=config,
        seeds=config.seeds,
        metrics=metrics,
        claims=claims,
        summary=_summary(config, measured, skipped),
        table=_table(config, measured),
        figures={"accuracy": _figure(config, measured)},
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.sequential_digits [--full] [--key=value ...]``."""
    return _harness.module_main(NAME, __name__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
