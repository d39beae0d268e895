r"""Sequential MNIST, shrunk: scikit-learn's 8x8 digits read one pixel per step (T = 64).

Each 8x8 image of ``sklearn.datasets.load_digits()`` (1797 images, bundled with
scikit-learn, no download) becomes a sequence of 64 scalars, read row by row (``plain``)
or in one fixed random order (``permuted``, the same permutation for train and test,
drawn from ``permutation_seed``). The pixels (0..16) are standardised, as MNIST usually
is: minus the mean, over the standard deviation, of every training pixel (two scalars;
``standardize=False`` feeds pixel / 16 in [0, 1] instead). A recurrent net reads the
sequence and a linear classifier on its last hidden state predicts the digit (chance
10%): ``jaxrnn.models.SequenceClassifier(cell, 10, pooling="last")``, trained with Adam
after global-norm clipping through ``experiments._trainer.train_seeds``, several seeds
vmapped in one program. Every model gets the same data, learning rate and clipping.

Baselines, fitted in the same run on the same split and the same (standardised,
permuted) inputs, flattened to 64 features: scikit-learn's ``LogisticRegression``
(multinomial, C = 1), a one-hidden-layer ``MLPClassifier`` (64 ReLU units, fixed
``random_state``) and the majority-class predictor. On 8x8 digits the flat classifiers
win: they see all 64 pixels at once, and the pixel order, which the recurrent nets must
carry across up to 64 steps, is nothing to them (their losses do not depend on it).

Cells: LSTM (forget bias 1), GRU, IRNN (ReLU, :math:`W_{hh} = I`,
:math:`W_{xh} \sim \mathcal{N}(0, 0.001^2)`, zero bias, Le et al.) and the tanh RNN
(orthogonal recurrent kernel, Glorot input kernel: jaxrnn's defaults).

The published sequential MNIST numbers (T = 784, 100 units; Cooijmans et al. 2016, Table
1) are IRNN 97.0% / permuted 82.0%, tanh RNN 35.0% / 35.0%, LSTM 98.9% / 90.2%. At T = 64
and a CPU budget of a few hundred steps the absolute numbers differ; what is checked is
what survives the shrinking (see ``Config``).

Why the inputs are centred: fed non-negative pixels, the IRNN mostly stays at chance
here (see ``Config``). With :math:`x_t \ge 0`, :math:`h_0 = 0`, zero bias and
:math:`W_{hh} = I`, its state at initialisation is exactly
:math:`h_t = \mathrm{relu}(W_{xh}) \sum_{s \le t} x_s`: the units with a negative input
weight are never active on any input (zero gradient, they never recover) and the others
all carry one number, the ink read so far, the same for every unit up to scale
(``irnn_init_features``). Centred pixels switch the ReLUs on and off with the image.

References:
  Le, Jaitly & Hinton, "A simple way to initialize recurrent networks of rectified linear
  units", arXiv:1504.00941, 2015. Cooijmans, Ballas, Laurent, Gülçehre & Courville,
  "Recurrent batch normalization", ICLR 2017 (arXiv:1603.09025), Table 1.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.figure import Figure

import jaxrnn
from experiments import _harness, _trainer
from jaxrnn import models, training

NAME = "sequential_digits"
# Seconds of the quick variant in the suite (2 workers on 2 busy cores): the suite
# starts the longest experiments first.
SUITE_SECONDS = 56
NUM_CLASSES = 10
SEQ_LEN = 64
ORDERS = ("plain", "permuted")
LABELS = {"lstm": "LSTM", "gru": "GRU", "irnn": "IRNN", "tanh": "tanh RNN"}
LEARNERS = ("lstm", "gru", "tanh")

BASELINES = {"logistic": "logistic regression", "mlp": "MLP", "majority": "majority class"}

# The seeds the thresholds were chosen on; the defaults (QUICK and FULL) are held out.
CALIBRATION_SEEDS = (0, 1, 2, 3, 4, 5)
# Frozen thresholds; the calibration behind them is in Config's docstring.
IRNN_MIN_OVER_MAJORITY = {"plain": 3.5, "permuted": 1.5}  # worst seed, IRNN / majority class
# Models whose permutation cost is claimed: none at this budget (LSTM and GRU withdrawn
# after failing on held-out seeds, see Config); the machinery stays for larger budgets.
PERMUTATION_SENSITIVE: tuple[str, ...] = ()
MIN_PERMUTATION_COST = 0.02  # seed mean of plain - permuted accuracy, minus logistic's


def make_cell(name: str, hidden: int) -> jaxrnn.RecurrentCell:
    """The cell template of model ``name`` (``lstm``, ``gru``, ``irnn`` or ``tanh``)."""
    if name == "lstm":
        return jaxrnn.LSTMCell(hidden)
    if name == "gru":
        # Cho et al.'s (2014) GRU, the references' formula (jaxrnn's default is PyTorch's).
        return jaxrnn.GRUCell(hidden, reset_after=False)
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

        python -m experiments sequential_digits          # QUICK: 2 seeds, 0.5-1 min *
        python -m experiments sequential_digits --full   # FULL: h 64, 4 seeds, 900 steps, ~4 min *
        python -m experiments sequential_digits --seeds=0,1,2,3,4,5   # calibration run
        python -m experiments sequential_digits --models=lstm,irnn --orders=permuted

    \* wall time on 2 cores shared with other jobs (load average 5-10), compile included.

    Expected result (QUICK), the claims, checked on the held-out seeds (100, 101;
    thresholds chosen on ``CALIBRATION_SEEDS`` = 0..5), each against a baseline fitted
    in the same run on the same split:

    * **The recurrent nets do not beat logistic regression on 8x8 digits.** Logistic
      regression scores .969 (plain and permuted: its loss does not see the pixel order),
      the MLP .978, the majority class .100; the best recurrent seed at this budget is
      .856 (LSTM, plain). So no claim says an RNN wins. What is claimed:
    * LSTM, GRU and the tanh RNN come within ``learner_max_gap`` = 0.35 of logistic
      regression's test accuracy on their worst seed, plain and permuted (accuracy >=
      .62, six times chance): ``versus(..., relative=False, reduce="min")``. A model at
      chance (.10) or the majority-class predictor is .87 short and fails.
    * the IRNN (Le et al.'s init) learns: its worst seed is >= 3.5x (plain) and >= 1.5x
      (permuted) the majority-class predictor's accuracy (.100 on the stratified split;
      the former absolute thresholds .35 / .15). It is far behind the others and behind
      logistic regression, which is not claimed away: its units die (after 300 steps
      72-88% end at 0 on every test image, 4 seeds) and the permuted task has a tail of
      poor seeds.
    * the permuted order costs the GRU accuracy while it costs logistic regression
      nothing: the seed mean of (plain - permuted) GRU accuracy exceeds logistic
      regression's (plain - permuted), 0 here, by >= ``MIN_PERMUTATION_COST`` = 0.02. A
      model that ignored the order (or a flat classifier) has cost 0 and fails. The tanh
      RNN has no such cost at T = 64 (calibration mean -.002) and is not claimed; see
      below for the LSTM.
    * Not claimed: the published sequential-MNIST order (IRNN and LSTM above the tanh
      RNN; T = 784). At T = 64 the tanh RNN with jaxrnn's orthogonal recurrent init is
      not stuck near 35% and keeps up with the gated cells; that order belongs to the
      pixel-MNIST experiment.

    Calibration (this code, ``_trainer.train_seeds``; hidden 32, 300 steps of 64, lr
    1e-2, clip 1, standardised pixels, split seed 0, permutation seed 0; seeds 0..5
    vmapped together; test accuracy): plain LSTM .764 .836 .856 .814 .767 .806, GRU .747
    .786 .819 .753 .814 .783, IRNN .508 .467 .575 .436 .531 .586, tanh .772 .711 .731
    .703 .775 .753; permuted LSTM .761 .733 .711 .717 .739 .686, GRU .667 .711 .736 .686
    .683 .722, IRNN .433 .392 .411 .250 .467 .439, tanh .736 .714 .767 .719 .711 .811.
    Logistic regression .969 / .969, MLP .978 / .978, majority .100 / .100. Worst learner
    gap to logistic regression -.303 (GRU permuted): threshold 0.35 (4.7 points of
    margin, about two per-seed standard deviations). IRNN worst 4.36x / 2.50x majority:
    thresholds 3.5x / 1.5x. Permutation cost, seed mean (worst seed): GRU .083 (.061),
    LSTM .082 (.003), tanh -.002, IRNN .119: threshold 0.02.

    Held-out check (seeds 100, 101; measured under load): plain LSTM .744 .767, GRU .789
    .814, IRNN .644 .522, tanh .750 .647; permuted LSTM .742 .764, GRU .758 .756, IRNN
    .517 .317, tanh .772 .789; logistic .969, MLP .978, majority .100. Worst learner gap
    -.322 (tanh plain, 2.8 points inside), IRNN 5.2x / 3.2x, GRU permutation cost .044.
    **The LSTM was in the permutation-cost claim as calibrated** (mean .082 on seeds
    0..5) **and failed it on the held-out seeds**: cost .003 and .003 (.744/.742,
    .767/.764). Withdrawn from the claim, not loosened: the LSTM's permutation cost at
    this budget depends on the seed (one calibration seed of six also measured .003), so
    a two-seed mean cannot carry it; its cost is reported in the table, not claimed.
    **The GRU followed** (2026-12-03): after a change of the train step that moves the
    parameters by rounding only (3.6e-7 after 100 steps of three vmapped seeds; the
    guard on the update), its held-out permutation cost went from .044 [-.132, .221] to
    .001 [-.475, .478] (plain .719 .792, permuted .756 .753): the cost at this budget is
    within seed and rounding noise, so it is withdrawn too, and the table shows both
    orders' accuracies. The permuted-order contrast is claimed in ``pixel_mnist`` FULL.

    FULL (hidden 64, lr 3e-3, 900 steps, seeds 100..103): ``learner_max_gap`` = 0.25.
    Chosen on the former FULL calibration (seeds 0..3, the same recipe through
    ``training.fit``): plain LSTM .87-.92, GRU .88-.89, IRNN .61-.75, tanh .85-.95;
    permuted LSTM .81-.85, GRU .79-.81, IRNN .37-.58, tanh .90-.92 (worst learner gap to
    logistic regression's .969: -.18). There too every recurrent net stays below logistic
    regression and **the plain tanh RNN is the best recurrent net in the permuted order
    and level with the LSTM in the plain one**: the reverse of the published order,
    reported, not claimed. Held-out FULL run (seeds 100..103, thresholds already frozen;
    3 min 42 s on 2 idle cores), test accuracy seed mean [range]: plain tanh .914
    [.844, .953], LSTM .884 [.867, .903], GRU .858 [.842, .892], IRNN .705 [.650, .750];
    permuted tanh .875 [.833, .897], LSTM .833 [.811, .864], GRU .797 [.781, .817], IRNN
    .453 [.314, .653]; logistic regression .969, MLP .978. All 9 claims pass (worst
    learner gap -.189, GRU permuted); the tanh RNN is again the best recurrent net in
    both orders, and every recurrent net stays below logistic regression.

    Root cause of the former non-reproduction (raw pixels / 16 in [0, 1],
    ``standardize=False``): the IRNN stayed at chance, loss flat at ln 10. At
    initialisation its state is :math:`\mathrm{relu}(W_{xh}) \sum_{s \le t} x_s` (module
    docstring, ``irnn_init_features``, reported as ``metrics["irnn_init"]``): 50% and 66%
    of its units (seeds 0, 1) are never active, and the final states of the 1437
    training images have rank 1 (second singular value over first 4e-7 after centring
    over images, against 0.38-0.40 with standardised pixels, where no unit is always
    off). Its first gradients see an image only through its total ink, and Adam's
    first step moves every weight by about the learning rate: at lr 1e-2 the
    largest singular value of :math:`W_{hh}` goes from 1 to 1.07-1.09 and the mean
    :math:`\|h_{64}\|` from 0.05-0.08 to 27-114; the loss then pushes the units off, 97%
    by step 10 and all by step 30, for good (no gradient reaches a unit that is off).
    lr 1e-3: 62-78% off after one step, all by step 25. lr 1e-4 survives but learns
    slowly (16%, 11% at step 300). Plain SGD, clip 1, lr 1e-2 to 1e-1 (Le et al.'s
    optimiser with a learning rate for this budget): all units off by step 100. Scaling
    the raw pixels by 2.6 (to unit variance, not centred) does not help (12-21%);
    centring alone does (40-51% at lr 1e-3 and 1e-2). Over 18 seeds, raw pixels, lr
    1e-2: plain 9.7-42% (10 of 18 seeds at chance), permuted 9.7-22% (15 of 18). The
    library is not at fault: ``SimpleRNNCell(activation="relu",
    recurrent_kernel_init=("identity", ...))`` starts from exactly I and zero bias, and
    a hand-written ``lax.scan`` IRNN gives the same logits (1e-8) and gradients (1e-7
    relative).

    Former calibration (before the baselines; hidden 32, 300 steps of 64, lr 1e-2, clip 1,
    standardised pixels, split seed 0, permutation seed 0; test accuracy):

    * seeds 0..5 (vmapped together; per-seed numbers move a little with the number of
      seeds, QUICK's two give other values): plain LSTM .772 .817 .756 .789 .814 .856,
      GRU .769 .792 .825 .808 .761 .786, IRNN .503 .522 .583 .469 .478 .547, tanh .794
      .700 .767 .694 .800 .717; permuted LSTM .792 .733 .728 .758 .686 .667, GRU .675
      .711 .736 .697 .683 .731, IRNN .447 .392 .400 .300 .414 .406, tanh .775 .739 .775
      .736 .733 .739.
    * IRNN, seeds 0..17: plain worst .469, mean .54; permuted worst .194, mean .41.
      Other recipes, IRNN, permuted, 18 seeds (worst / mean): lr 5e-3 .225 / .37, lr
      2e-2 .297 / .42, clip 10 .300 / .45, hidden 64 .344 / .47; at lr 1e-3 and 3e-3
      (4 seeds) permuted was worse (.16-.38), so the IRNN keeps everyone's lr and clip.
    * FULL (hidden 64, lr 3e-3, 900 steps), seeds 0..3: plain LSTM .87-.92, GRU
      .88-.89, IRNN .61-.75, tanh .85-.95; permuted LSTM .81-.85, GRU .79-.81, IRNN
      .37-.58, tanh .90-.92 (460 s). IRNN alone, seeds 0..7: plain .69-.78, permuted
      .40-.63 (per-seed numbers move with the number of seeds vmapped together: the
      IRNN amplifies the rounding differences).
    * Then frozen (absolute, no baseline; replaced by the claims above): 45% for the
      learners (worst of 36 learner runs .667); IRNN 35% plain (worst of 18 .469), 15%
      permuted (worst of 18 .194; 3 binomial standard deviations above chance on 360
      test images).
      Before standardisation (seeds 0, 1, raw pixels) the learners measured 57-82% and
      the IRNN 10.0-10.3%.

    Attributes:
      hidden: hidden units of every cell.
      steps: training steps (batches) per model and order.
      batch_size: sequences per batch (per seed).
      learning_rate: Adam's learning rate, every model.
      max_grad_norm: global-norm clipping threshold.
      standardize: centre and scale the pixels (see ``load_data``); False feeds raw
        pixels / 16 in [0, 1], on which the IRNN mostly stays at chance.
      test_fraction: fraction of the 1797 images held out (stratified split).
      split_seed: seed of the train/test split.
      permutation_seed: seed of the pixel permutation of the ``permuted`` order.
      models: any of ``lstm``, ``gru``, ``irnn``, ``tanh``.
      orders: any of ``plain``, ``permuted``.
      seeds: one initialisation and data order per seed, trained together (vmapped);
        the defaults are held out from ``CALIBRATION_SEEDS``.
      log_every: training-loss logging period (the loss figure).
      mlp_hidden: hidden units of the MLP baseline.
      mlp_max_iter: the MLP baseline's epochs at most.
      mlp_seed: the MLP baseline's ``random_state``.
      learner_max_gap: LSTM, GRU and tanh RNN claims: worst-seed test accuracy at least
        logistic regression's minus this (0.35 QUICK, 0.25 FULL; calibration above).
    """

    hidden: int = 32
    steps: int = 300
    batch_size: int = 64
    learning_rate: float = 1e-2
    max_grad_norm: float = 1.0
    standardize: bool = True
    test_fraction: float = 0.2
    split_seed: int = 0
    permutation_seed: int = 0
    models: tuple[str, ...] = ("lstm", "gru", "irnn", "tanh")
    orders: tuple[str, ...] = ORDERS
    seeds: tuple[int, ...] = (100, 101)
    log_every: int = 10
    mlp_hidden: int = 64
    mlp_max_iter: int = 300
    mlp_seed: int = 0
    learner_max_gap: float = 0.35

    def __post_init__(self):
        _harness.check_types(self)
        for field in ("hidden", "steps", "batch_size", "log_every", "mlp_hidden", "mlp_max_iter"):
            if getattr(self, field) < 1:
                raise ValueError(f"Config: expected `{field}` >= 1, got {getattr(self, field)}")
        for field in ("learning_rate", "max_grad_norm", "learner_max_gap"):
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
FULL = Config(
    hidden=64, steps=900, learning_rate=3e-3, seeds=(100, 101, 102, 103), learner_max_gap=0.25
)


# ---------------------------------------------------------------------------------------
# Data.
# ---------------------------------------------------------------------------------------


def pixel_permutation(seed: int) -> np.ndarray:
    """The fixed pixel order of the ``permuted`` task: a permutation of ``range(64)``."""
    return np.random.default_rng(seed).permutation(SEQ_LEN)


@functools.lru_cache(maxsize=8)
def _split(test_fraction: float, split_seed: int) -> tuple[np.ndarray, ...]:
    """``x_train, x_test, y_train, y_test``, pixels / 16 in [0, 1] (cached, read-only)."""
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
    test_fraction: float,
    split_seed: int,
    permutation: np.ndarray | None = None,
    standardize: bool = True,
) -> dict[str, np.ndarray]:
    """The digits as pixel sequences, split into train and test.

    Args:
      test_fraction: fraction held out (stratified by class).
      split_seed: seed of the split.
      permutation: optional ``(64,)`` pixel order, applied to train and test alike.
      standardize: subtract the training pixels' mean and divide by their standard
        deviation (two scalars over every training pixel, applied to train and test
        alike), as MNIST is usually fed; else raw pixels / 16 in [0, 1].

    Returns:
      ``x_train (n, 64, 1)``, ``y_train (n,)``, ``x_test (m, 64, 1)``, ``y_test (m,)``,
      float32; labels int32 in 0..9.
    """
    x_train, x_test, y_train, y_test = _split(test_fraction, split_seed)
    if standardize:
        mean, std = x_train.mean(), x_train.std()
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    if permutation is not None:
        x_train, x_test = x_train[:, permutation], x_test[:, permutation]
    return {
        "x_train": x_train[..., None],
        "y_train": y_train,
        "x_test": x_test[..., None],
        "y_test": y_test,
    }


@functools.lru_cache(maxsize=4)
def _irnn_states(hidden: int):
    """Jitted ``(key, x) -> (final state, states)`` of a fresh IRNN, one compile per shape."""
    rnn = jaxrnn.RNN(make_cell("irnn", hidden), return_carry=True)
    return jax.jit(lambda key, x: rnn.apply(rnn.init(key, x[:1]), x))


def irnn_init_features(x: np.ndarray, hidden: int, seed: int = 0) -> dict[str, float]:
    """What a freshly initialised IRNN (``make_cell("irnn", hidden)``) computes on ``x``.

    The diagnosis of the IRNN's failure on non-negative pixels (module docstring).

    Args:
      x: sequences ``(n, 64, 1)``, n >= 2.
      hidden: hidden units.
      seed: initialisation seed.

    Returns:
      ``never_active``: fraction of units at 0 at every step of every sequence;
      ``rank_ratio``: second over first singular value of the final states ``(n, h)``
      centred over the sequences (about 0 when every unit carries the same number);
      ``final_norm``: mean norm of the final state.
    """
    final, states = _irnn_states(hidden)(jax.random.key(seed), jnp.asarray(x))
    final, states = np.asarray(final, np.float64), np.asarray(states)
    singular = np.linalg.svd(final - final.mean(0), compute_uv=False)
    return {
        "never_active": float((states.max(axis=(0, 1)) <= 0).mean()),
        "rank_ratio": float(singular[1] / singular[0]) if singular[0] > 0 else 0.0,
        "final_norm": float(np.linalg.norm(final, axis=-1).mean()),
    }


# ---------------------------------------------------------------------------------------
# Baselines: non-recurrent classifiers of the flattened pixels, same split, same inputs.
# ---------------------------------------------------------------------------------------


def _flat(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).reshape(len(x), -1)


def logistic_regression_accuracy(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    max_iter: int = 2000,
) -> float:
    """Test accuracy of an L2-regularised (C = 1) multinomial logistic regression.

    ``sklearn.linear_model.LogisticRegression`` (lbfgs) on the flattened inputs. Its loss
    does not depend on the order of the features, so a fixed pixel permutation leaves it
    unchanged (up to the solver's rounding).

    Args:
      x_train: ``(n, ...)`` inputs, flattened to ``(n, d)``.
      y_train: ``(n,)`` integer labels.
      x_test: ``(m, ...)`` inputs.
      y_test: ``(m,)`` labels.
      max_iter: lbfgs iterations (it converges in about 100 on the digits).

    Returns:
      The fraction of ``x_test`` classified correctly.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    with threadpool_limits(1):  # see ``mlp_accuracy``
        classifier = LogisticRegression(max_iter=max_iter).fit(_flat(x_train), y_train)
        return float(classifier.score(_flat(x_test), y_test))


def mlp_accuracy(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    hidden: int = 64,
    max_iter: int = 300,
    seed: int = 0,
) -> float:
    """Test accuracy of a one-hidden-layer ReLU MLP (``sklearn.neural_network.MLPClassifier``).

    Adam, scikit-learn's defaults otherwise (L2 1e-4, batches of 200), ``random_state=seed``
    so the figure is the same in every run. A ``ConvergenceWarning`` at ``max_iter`` is
    silenced: the figure is whatever it reaches within the budget.

    Args:
      x_train: ``(n, ...)`` inputs, flattened to ``(n, d)``.
      y_train: ``(n,)`` integer labels.
      x_test: ``(m, ...)`` inputs.
      y_test: ``(m,)`` labels.
      hidden: hidden units.
      max_iter: epochs at most.
      seed: the initialisation and shuffling seed.

    Returns:
      The fraction of ``x_test`` classified correctly.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    classifier = MLPClassifier((hidden,), max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(_flat(x_train), y_train)
        return float(classifier.score(_flat(x_test), y_test))


def majority_accuracy(y_train: np.ndarray, y_test: np.ndarray) -> float:
    """Test accuracy of the constant predictor of the most frequent training label."""
    return float(np.mean(np.asarray(y_test) == np.bincount(y_train).argmax()))


def flat_baselines(
    data: dict[str, np.ndarray], mlp_hidden: int = 64, mlp_max_iter: int = 300, mlp_seed: int = 0
) -> dict[str, float]:
    """``logistic``, ``mlp`` and ``majority`` test accuracy on ``data``'s split and inputs.

    Args:
      data: ``x_train (n, T, d)``, ``y_train (n,)``, ``x_test (m, T, d)``, ``y_test (m,)``.
      mlp_hidden: the MLP's hidden units.
      mlp_max_iter: the MLP's epochs at most.
      mlp_seed: the MLP's ``random_state``.
    """
    split = (data["x_train"], data["y_train"], data["x_test"], data["y_test"])
    return {
        "logistic": logistic_regression_accuracy(*split),
        "mlp": mlp_accuracy(*split, hidden=mlp_hidden, max_iter=mlp_max_iter, seed=mlp_seed),
        "majority": majority_accuracy(data["y_train"], data["y_test"]),
    }


def baselines(config: Config, data: dict[str, np.ndarray]) -> dict[str, float]:
    """``flat_baselines`` with the config's MLP settings."""
    return flat_baselines(data, config.mlp_hidden, config.mlp_max_iter, config.mlp_seed)


# ---------------------------------------------------------------------------------------
# Training.
# ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def classifier_programs(
    model_name: str,
    hidden: int,
    learning_rate: float,
    max_grad_norm: float,
    seq_len: int,
    num_features: int = 1,
    num_classes: int = NUM_CLASSES,
):
    """``init``, ``loss_fn``, ``optimizer`` and the jitted ``accuracy`` of one classifier.

    ``models.SequenceClassifier(make_cell(model_name, hidden), num_classes)`` on inputs
    ``(b, seq_len, num_features)``, softmax cross-entropy, ``training.make_optimizer``.
    Cached on the arguments, so that runs of one model on data of one shape (e.g. the
    plain and permuted orders) share one compilation in ``_trainer.train_seeds``.

    Returns:
      ``init(key) -> params``, ``loss_fn(params, batch, rng) -> (loss, {"accuracy"})``,
      the optimizer and ``accuracy(params (s, ...), x (m, T, d), y (m,)) -> (s,)``.
    """
    model = models.SequenceClassifier(make_cell(model_name, hidden), num_classes)
    optimizer = training.make_optimizer(learning_rate, max_grad_norm)
    example = jnp.zeros((1, seq_len, num_features))

    def init(key):
        return model.init(key, example)

    def loss_fn(params, batch, rng):
        del rng
        logits = model.apply(params, batch["x"])
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean()
        return loss, {"accuracy": (logits.argmax(-1) == batch["y"]).mean()}

    @jax.jit
    def accuracy(params, x, y):
        logits = jax.vmap(lambda p: model.apply(p, x))(params)
        return (logits.argmax(-1) == y[None]).mean(-1)

    return init, loss_fn, optimizer, accuracy


def train_classifier(
    model_name: str,
    data: dict[str, np.ndarray],
    *,
    hidden: int,
    learning_rate: float,
    max_grad_norm: float,
    batch_size: int,
    steps: int,
    seeds: tuple[int, ...],
    log_every: int,
    eval_every: int = 0,
    splits: tuple[str, ...] = ("test", "train"),
    description: str = NAME,
    num_classes: int = NUM_CLASSES,
) -> dict[str, np.ndarray]:
    """Trains one classifier for every seed (vmapped) through ``_trainer.train_seeds``.

    Args:
      model_name: ``lstm``, ``gru``, ``irnn`` or ``tanh`` (``make_cell``).
      data: ``x_train (n, T, d)``, ``y_train (n,)`` and ``x_<split>``, ``y_<split>`` for
        every name of ``splits``.
      hidden: hidden units.
      learning_rate: Adam's learning rate.
      max_grad_norm: global-norm clipping threshold.
      batch_size: sequences per batch and seed.
      steps: training steps.
      seeds: one initialisation and data order per seed.
      log_every: training-loss logging period.
      eval_every: also evaluate every this many steps (0: at the end only); the
        evaluations are returned as ``history_<split>_accuracy (evals, seeds)``.
      splits: the splits whose accuracy is evaluated.
      description: the progress label.
      num_classes: classes.

    Returns:
      ``<split>_accuracy (seeds,)`` after the last step for each of ``splits``,
      ``loss (logs, seeds)``, ``logged_steps (logs,)``, ``nonfinite_steps (seeds,)``,
      ``seconds`` (wall time, compile included) and, with ``eval_every``,
      ``eval_steps (evals,)`` and ``history_<split>_accuracy (evals, seeds)``.
    """
    seq_len, num_features = data["x_train"].shape[1:]
    init, loss_fn, optimizer, accuracy = classifier_programs(
        model_name, hidden, learning_rate, max_grad_norm, seq_len, num_features, num_classes
    )

    def eval_fn(params):
        return {
            f"{split}_accuracy": accuracy(params, data[f"x_{split}"], data[f"y_{split}"])
            for split in splits
        }

    runs = _trainer.train_seeds(
        init,
        loss_fn,
        optimizer,
        _trainer.stack_batches({"x": data["x_train"], "y": data["y_train"]}, batch_size, seeds),
        _trainer.seed_keys(seeds),
        num_steps=steps,
        eval_fn=eval_fn,
        eval_every=eval_every,
        log_every=log_every,
        progress=False,
        description=f"{description} {model_name}",
    )
    out = {f"{split}_accuracy": runs.final[f"{split}_accuracy"] for split in splits}
    out.update(
        loss=runs.loss,
        logged_steps=runs.steps,
        nonfinite_steps=np.asarray(jax.device_get(runs.state.nonfinite_total)),
        seconds=runs.seconds,
    )
    if eval_every:
        out["eval_steps"] = np.asarray([e["step"] for e in runs.evals])
        for split in splits:
            key = f"{split}_accuracy"
            out[f"history_{key}"] = np.stack([np.asarray(e[key]) for e in runs.evals])
    return out


_TRAINING_FIELDS = (
    "hidden",
    "learning_rate",
    "max_grad_norm",
    "batch_size",
    "steps",
    "seeds",
    "log_every",
)


def _training_arguments(config: object) -> dict[str, object]:
    """``train_classifier``'s keyword arguments that every config carries, by name."""
    return {name: getattr(config, name) for name in _TRAINING_FIELDS}


def train(config: Config, model_name: str, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Trains one model on one order for every seed (vmapped): ``train_classifier``.

    Returns:
      ``test_accuracy (seeds,)``, ``train_accuracy (seeds,)``, ``loss (logs, seeds)``,
      ``logged_steps (logs,)``, ``nonfinite_steps (seeds,)``, ``seconds`` (wall time,
      compile included).
    """
    return train_classifier(
        model_name,
        data,
        **_training_arguments(config),
    )


# ---------------------------------------------------------------------------------------
# Shared with the other sequence-classification experiments (pixel_mnist, mnist1d):
# a validated logistic regression, selection on a validation split, table and figure.
# ---------------------------------------------------------------------------------------

LOGISTIC_CS = (0.01, 0.1, 1.0, 10.0)  # inverse L2 strengths tried by the validated baseline


def logistic_regression_validated(
    data: dict[str, np.ndarray], cs: tuple[float, ...] = LOGISTIC_CS, max_iter: int = 2000
) -> dict[str, float]:
    """Logistic regression with its L2 strength chosen on the validation split.

    One ``LogisticRegression(C=c)`` per ``c`` of ``cs`` is fitted on ``x_train``; the one
    with the best ``x_val`` accuracy (the first on ties) is scored on ``x_test``.

    Args:
      data: ``x_train``, ``y_train``, ``x_val``, ``y_val``, ``x_test``, ``y_test``;
        inputs ``(n, ...)`` are flattened to ``(n, d)``.
      cs: the inverse regularisation strengths tried.
      max_iter: lbfgs iterations.

    Returns:
      ``accuracy`` (test, of the chosen ``c``), ``val_accuracy``, ``C``.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    best = None
    with threadpool_limits(1):  # see ``mlp_accuracy``
        for c in cs:
            classifier = LogisticRegression(C=c, max_iter=max_iter)
            classifier.fit(_flat(data["x_train"]), data["y_train"])
            val = float(classifier.score(_flat(data["x_val"]), data["y_val"]))
            if best is None or val > best[0]:
                best = (val, c, float(classifier.score(_flat(data["x_test"]), data["y_test"])))
    return {"accuracy": best[2], "val_accuracy": best[0], "C": best[1]}


def select_by_validation(history_val: np.ndarray, history_test: np.ndarray) -> np.ndarray:
    """Per seed, the test accuracy at the evaluation with the best validation accuracy.

    Early stopping without retraining: ``train_classifier(..., eval_every=k,
    splits=("val", "test"))`` evaluates both splits every ``k`` steps; the step is chosen
    on validation (the first best on ties), the test split is only read there.

    Args:
      history_val: ``(evals, seeds)`` validation accuracy.
      history_test: ``(evals, seeds)`` test accuracy at the same evaluations.

    Returns:
      ``(seeds,)`` test accuracy.
    """
    best = np.argmax(np.asarray(history_val), axis=0)
    return np.asarray(history_test)[best, np.arange(best.size)]


def train_selected(
    config, model_name: str, data: dict[str, np.ndarray], description: str
) -> dict[str, np.ndarray]:
    """``train_classifier`` with ``config``'s fields, evaluations and early-stopping selection.

    Args:
      config: any config with ``hidden``, ``learning_rate``, ``max_grad_norm``,
        ``batch_size``, ``steps``, ``seeds``, ``log_every`` and ``eval_every``.
      model_name: ``lstm``, ``gru``, ``irnn`` or ``tanh``.
      data: ``x_<split>``, ``y_<split>`` for ``train``, ``val`` and ``test``.
      description: the progress label.

    Returns:
      ``train_classifier``'s dict plus ``selected_test_accuracy (seeds,)``: the test
      accuracy at the evaluation with the best validation accuracy.
    """
    m = train_classifier(
        model_name,
        data,
        **_training_arguments(config),
        eval_every=config.eval_every,
        splits=("val", "test"),
        description=description,
    )
    m["selected_test_accuracy"] = select_by_validation(
        m["history_val_accuracy"], m["history_test_accuracy"]
    )
    return m


def validated_baselines(config, data: dict[str, np.ndarray]) -> dict[str, float]:
    """``logistic`` (L2 chosen on validation), ``mlp`` and ``majority`` test accuracy.

    Args:
      config: any config with ``mlp_hidden``, ``mlp_max_iter`` and ``mlp_seed``.
      data: ``x_<split>``, ``y_<split>`` for ``train``, ``val`` and ``test``.
    """
    flat = flat_baselines(data, config.mlp_hidden, config.mlp_max_iter, config.mlp_seed)
    flat["logistic"] = logistic_regression_validated(data)["accuracy"]
    return flat


def accuracy_table(
    measured: dict[str, dict[str, dict]], flat: dict[str, dict[str, float]], key: str
) -> str:
    """Rows ``group, model, per-seed test accuracy, mean, train accuracy, seconds``.

    Args:
      measured: ``{group: {model: {key: (seeds,), "train_accuracy": (seeds,), ...}}}``.
      flat: ``{group: {baseline: accuracy}}`` (names in ``BASELINES`` or as given).
      key: the accuracy shown (e.g. ``"test_accuracy"`` or ``"selected_test_accuracy"``).
    """
    rows = [("group", "model", "test acc per seed", "mean", "train acc mean", "seconds")]
    for group, per_model in measured.items():
        for name, m in per_model.items():
            train_acc = f"{m['train_accuracy'].mean():.3f}" if "train_accuracy" in m else ""
            rows.append(
                (
                    group,
                    LABELS[name],
                    " ".join(f"{a:.3f}" for a in m[key]),
                    f"{m[key].mean():.3f}",
                    train_acc,
                    f"{m['seconds']:.1f}",
                )
            )
        for name, acc in flat[group].items():
            rows.append((group, BASELINES.get(name, name), f"{acc:.3f}", f"{acc:.3f}", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def accuracy_figure(
    measured: dict[str, dict[str, dict]],
    flat: dict[str, dict[str, float]],
    key: str,
    title: str,
    thresholds: dict[str, list[tuple[float, str]]] | None = None,
) -> Figure:
    """Training loss (seed mean, min-max band) and test accuracy (bars, seed dots).

    Args:
      measured: ``{group: {model: {"loss": (logs, seeds), "logged_steps": (logs,),
        key: (seeds,)}}}``, one column per group.
      flat: ``{group: {baseline: accuracy}}``, horizontal lines.
      key: the accuracy plotted.
      title: prefix of the panel titles.
      thresholds: ``{group: [(accuracy, label), ...]}``: claim thresholds, dashed red.
    """
    groups = list(measured)
    fig = Figure(figsize=(5.5 * len(groups), 7.5), layout="constrained")
    axes = fig.subplots(2, len(groups), squeeze=False)
    styles = {"logistic": ("black", "-"), "mlp": ("purple", "-."), "majority": ("gray", ":")}
    for column, group in enumerate(groups):
        ax = axes[0, column]
        for name, m in measured[group].items():
            loss = m["loss"]
            (line,) = ax.plot(m["logged_steps"], loss.mean(1), label=LABELS[name])
            ax.fill_between(
                m["logged_steps"], loss.min(1), loss.max(1), alpha=0.2, color=line.get_color()
            )
        ax.axhline(np.log(NUM_CLASSES), color="gray", ls=":", label="chance (ln 10)")
        ax.set(title=f"{title}, {group}: training loss", xlabel="step", ylabel="cross-entropy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        ax = axes[1, column]
        names = list(measured[group])
        for i, name in enumerate(names):
            acc = measured[group][name][key]
            ax.bar(i, acc.mean(), color=f"C{i}", alpha=0.6)
            ax.plot(np.full(acc.shape, i), acc, "k.", ms=6)
        for name, acc in flat[group].items():
            color, ls = styles.get(name, ("brown", "--"))
            label = f"{BASELINES.get(name, name)} {acc:.3f}"
            ax.axhline(acc, color=color, ls=ls, lw=1, label=label)
        for i, (value, label) in enumerate((thresholds or {}).get(group, [])):
            ax.axhline(value, color="red", ls="--", lw=0.8, alpha=0.5 + 0.5 / (i + 1), label=label)
        ax.set_xticks(range(len(names)), [LABELS[n] for n in names])
        ax.set(title=f"{title}, {group}: test accuracy (bar: mean, dots: seeds)", ylim=(0, 1))
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize="small", loc="lower right")
    return fig


def measure(config: Config) -> tuple[dict[str, dict[str, dict]], dict[str, dict[str, float]]]:
    """``({order: {model: train(...)}}, {order: baselines(...)})`` for every order."""
    results: dict[str, dict[str, dict]] = {}
    flat: dict[str, dict[str, float]] = {}
    for order in config.orders:
        permutation = pixel_permutation(config.permutation_seed) if order == "permuted" else None
        data = load_data(config.test_fraction, config.split_seed, permutation, config.standardize)
        results[order] = {name: train(config, name, data) for name in config.models}
        flat[order] = baselines(config, data)
    return results, flat


# ---------------------------------------------------------------------------------------
# Claims, table, figure, summary.
# ---------------------------------------------------------------------------------------


def _claims(config: Config, measured: dict, flat: dict) -> tuple[list[_harness.Claim], list[str]]:
    """The claims of ``Config``'s docstring, each against a baseline of the same run.

    Args:
      config: the run's config (its thresholds ``learner_max_gap``).
      measured: ``{order: {model: {"test_accuracy": (seeds,), ...}}}``.
      flat: ``{order: {"logistic": acc, "mlp": acc, "majority": acc}}`` on the same split.

    Returns:
      The claims and the names of those not checked (model not in the config).
    """
    claims, skipped = [], []
    for order in config.orders:
        logistic = flat[order]["logistic"]
        for name in LEARNERS:
            if name not in config.models:
                skipped.append(f"{LABELS[name]} {order}")
                continue
            claims.append(
                _harness.versus(
                    f"{LABELS[name]}, {order}: test accuracy within {config.learner_max_gap:g} "
                    "of logistic regression's (worst seed)",
                    measured[order][name]["test_accuracy"],
                    "logistic regression",
                    logistic,
                    low=-config.learner_max_gap,
                    reduce="min",
                    relative=False,
                )
            )
        if "irnn" in config.models:
            claims.append(
                _harness.versus(
                    f"IRNN, {order}: learns, test accuracy over the majority-class "
                    "predictor's (worst seed)",
                    measured[order]["irnn"]["test_accuracy"],
                    "majority-class predictor",
                    flat[order]["majority"],
                    low=IRNN_MIN_OVER_MAJORITY[order],
                    reduce="min",
                )
            )
        else:
            skipped.append(f"IRNN {order}")
    if set(ORDERS) <= set(config.orders):
        cost = flat["plain"]["logistic"] - flat["permuted"]["logistic"]
        for name in PERMUTATION_SENSITIVE:
            if name not in config.models:
                skipped.append(f"{LABELS[name]} permutation cost")
                continue
            per_seed = (
                measured["plain"][name]["test_accuracy"]
                - measured["permuted"][name]["test_accuracy"]
            )
            claims.append(
                _harness.versus(
                    f"{LABELS[name]}: the permuted order costs test accuracy (plain - "
                    "permuted, seed mean), more than it costs logistic regression",
                    per_seed,
                    "logistic regression's permutation cost",
                    cost,
                    low=MIN_PERMUTATION_COST,
                    reduce="mean",
                    relative=False,
                )
            )
    else:
        skipped.append("permutation cost (needs both orders)")
    return claims, skipped


def _table(config: Config, measured: dict, flat: dict) -> str:
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
        for key, label in BASELINES.items():
            acc = flat[order][key]
            rows.append((order, label, f"{acc:.3f}", f"{acc:.3f}", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def _figure(config: Config, measured: dict, flat: dict) -> Figure:
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
        logistic = flat[order]["logistic"]
        ax.axhline(logistic, color="black", lw=1, label=f"logistic regression {logistic:.3f}")
        ax.axhline(flat[order]["mlp"], color="purple", lw=1, ls="-.", label="MLP")
        ax.axhline(flat[order]["majority"], color="gray", ls=":", label="majority class")
        ax.axhline(
            logistic - config.learner_max_gap,
            color="red",
            ls="--",
            lw=0.8,
            label="learner threshold",
        )
        if "irnn" in names:
            i = names.index("irnn")
            ax.hlines(
                IRNN_MIN_OVER_MAJORITY[order] * flat[order]["majority"],
                i - 0.4,
                i + 0.4,
                color="red",
                ls=":",
                label="IRNN threshold",
            )
        ax.set_xticks(range(len(names)), [LABELS[n] for n in names])
        ax.set(title=f"{order}: test accuracy (bar: mean, dots: seeds)", ylim=(0, 1))
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize="small", loc="lower right")
    return fig


def _summary(config: Config, measured: dict, flat: dict, skipped: list[str]) -> str:
    parts = []
    for order, per_model in measured.items():
        accs = ", ".join(
            f"{LABELS[n]} {m['test_accuracy'].mean():.1%} "
            f"[{m['test_accuracy'].min():.1%}-{m['test_accuracy'].max():.1%}]"
            for n, m in per_model.items()
        )
        base = ", ".join(f"{label} {flat[order][k]:.1%}" for k, label in BASELINES.items())
        parts.append(f"{order}: {accs}; same split, flattened pixels: {base}")
    inputs = "standardised pixels" if config.standardize else "pixels in [0, 1]"
    text = (
        f"The 8x8 digits read pixel by pixel (T = {SEQ_LEN}, one feature: {inputs}), "
        f"{config.hidden} hidden units, {config.steps} Adam steps of {config.batch_size} "
        f"(lr {config.learning_rate:g}, clip {config.max_grad_norm:g}), "
        f"{len(config.seeds)} seeds; test accuracy, seed mean [range]: " + "; ".join(parts) + "."
    )
    best_flat = {o: max(flat[o]["logistic"], flat[o]["mlp"]) for o in measured}
    beaten = [
        f"{LABELS[n]} {o}"
        for o, per_model in measured.items()
        for n, m in per_model.items()
        if m["test_accuracy"].mean() > flat[o]["logistic"]
    ]
    if beaten:
        text += (
            " Seed mean above logistic regression's: " + ", ".join(beaten) + "; below the "
            f"best flat baseline ({', '.join(f'{o} {v:.1%}' for o, v in best_flat.items())})"
            " or not, see the table."
        )
    else:
        text += (
            " No recurrent model beats logistic regression on 8x8 digits here: a linear "
            "classifier of the 64 pixels (and a one-hidden-layer MLP) is the better model of "
            "this data at this budget; the claims are that the recurrent nets come within "
            f"{config.learner_max_gap:g} of it, far above chance, not that they beat it."
        )
    for order, per_model in measured.items():
        ranked = sorted(per_model, key=lambda n: -per_model[n]["test_accuracy"].mean())
        text += (
            f" Order of the recurrent nets, {order}: " + " > ".join(LABELS[n] for n in ranked) + "."
        )
    text += (
        " The published sequential-MNIST order (T = 784: LSTM 98.9% / 90.2%, IRNN 97% / 82%, "
        "tanh RNN 35%; Cooijmans et al. 2016) is not claimed here: at T = 64 the tanh RNN "
        "with an orthogonal recurrent kernel is not stuck, and the order belongs to the "
        "pixel-MNIST experiment. Logistic regression's loss does not depend on the pixel "
        "order (permutation cost "
        + (
            f"{flat['plain']['logistic'] - flat['permuted']['logistic']:+.3f}"
            if set(ORDERS) <= set(measured)
            else "not measured"
        )
        + "); the IRNN with Le et al.'s initialisation learns on centred pixels, behind "
        "the others and with more spread over seeds (most of its units die); on raw pixels "
        "in [0, 1] it mostly stays at chance (see the module docstring)."
    )
    if skipped:
        text += f" Claims not checked (not in this config): {'; '.join(skipped)}."
    return text


def run(config: Config = QUICK) -> _harness.Result:
    """Runs the experiment; see ``Config`` for the expected result."""
    measured, flat = measure(config)
    claims, skipped = _claims(config, measured, flat)
    irnn_init = {}
    if "irnn" in config.models:  # the diagnosis of the module docstring, both inputs
        for standardize in (False, True):
            x = load_data(config.test_fraction, config.split_seed, None, standardize)
            key = "standardized" if standardize else "raw"
            irnn_init[key] = irnn_init_features(x["x_train"], config.hidden, config.seeds[0])
    metrics = {
        "chance": 1 / NUM_CLASSES,
        "seq_len": SEQ_LEN,
        "permutation": pixel_permutation(config.permutation_seed),
        "results": measured,
        "baselines": flat,
        "thresholds": {
            "learner_max_gap": config.learner_max_gap,
            "irnn_min_over_majority": IRNN_MIN_OVER_MAJORITY,
            "min_permutation_cost": MIN_PERMUTATION_COST,
        },
        "irnn_init": irnn_init,
    }
    return _harness.Result(
        name=NAME,
        config=config,
        seeds=config.seeds,
        metrics=metrics,
        claims=claims,
        summary=_summary(config, measured, flat, skipped),
        table=_table(config, measured, flat),
        figures={"accuracy": _figure(config, measured, flat)},
        calibration_seeds=CALIBRATION_SEEDS,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.sequential_digits [--full] [--key=value ...]``."""
    return _harness.module_main(NAME, __name__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
