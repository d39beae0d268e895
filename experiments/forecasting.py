r"""Forecasting real series: an LSTM against AR, gradient boosting and an MLP.

Two series by default (``Config.series``), each with its own window, model size and
claims, every baseline refitted on each.

The first, ``membrane``, is ``membrane.dat`` from matplotlib's bundled sample data
(``matplotlib.cbook.get_sample_data``; installed with matplotlib, no download): 12,000
float32 samples of a neuron's membrane potential, recorded as a step of current makes it
fire. It rests (~-0.67), jumps when the current starts (sample ~1,000), spikes regularly
(one spike every ~140 samples, a slow depolarising ramp, a sharp up-stroke, an
after-hyperpolarisation) up to ~7,000, then fires irregularly over sub-threshold
oscillations until the current stops (~10,900) and it relaxes back to rest. A real
recording, with quantisation noise (steps of 0.0024), and nonlinear structure: the
spike is triggered at a threshold, which a linear autoregression cannot express.

The second, ``sunspots``, is the yearly mean sunspot number 1700-2008 (309 values;
``statsmodels.datasets.sunspots``, installed with statsmodels, no download): Wolfer's
series, on which Yule (1927) introduced autoregression, and Box & Jenkins' series E, the
textbook case where a low-order linear AR is the strong baseline. A quasi-periodic cycle
of ~11 years with irregular amplitude (peaks from ~50 to ~190) and asymmetric rise and
fall. It is short: with the window of 11 years the chronological 65/15/20 split leaves 190
training windows, so the models are small (``sunspots_*`` fields of ``Config``), the
horizon is one year, and the LSTM is claimed *not* to beat the AR (see ``Config``).

The task: from the last ``window`` values :math:`x_{t-w+1..t}` forecast
:math:`x_{t+h}` (``horizon`` :math:`h`, 2 by default: a small horizon, where the spike's
nonlinear shape matters most). The series is split chronologically (train, validation,
test: the first 70%, the next 10%, the last 20% by default, so that training reaches the
irregular firing the test part holds) and the windows are cut inside each part, so no
input or target of one part is seen by another; the normalisation (mean, standard
deviation) is that of the training part alone.

Forecasts compared on the test part, errors in the series' own units, every one fitted
in the same run on the same training windows (the baselines are the ones a claim that
*recurrence* helps must beat: persistence and AR rule out "any fit helps", the
non-recurrent nonlinear models rule out "any nonlinearity helps"):

* naive (persistence): :math:`\hat x_{t+h} = x_t`;
* linear AR(w): least squares of :math:`x_{t+h}` on the window and a constant, fitted
  on the training windows;
* gradient boosting: scikit-learn's ``HistGradientBoostingRegressor`` (Friedman's
  gradient boosting, with LightGBM's histogram splits) on the ``w`` values of the
  window, fitted on the change :math:`x_{t+h} - x_t`, fixed ``random_state``; the
  number of leaves per tree is chosen on the validation part;
* an MLP on the window (``WindowMLP``: two tanh layers of 64 on the flattened window),
  trained exactly like the LSTM (same head, target, optimiser, steps, batches and
  seeds): the LSTM with the recurrence taken out;
* the common PyTorch ``LSTMModel`` pattern,
  ``jaxrnn.models.SequenceRegressor(jaxrnn.LSTMCell(n))``: an LSTM over the window
  and a dense head on its last hidden state. The head outputs the change
  :math:`x_{t+h} - x_t`, added to the last value (``predict_change``; the LSTM
  refines persistence), trained on the MSE of the normalised target with Adam (cosine
  decay) after global-norm clipping through ``_trainer.train_seeds``, several seeds
  vmapped in one program.

The claims compare the LSTM, seed by seed, with the linear AR and with the better of
the two non-recurrent nonlinear models on validation (``_harness.versus``: the worst
seed's ratio, with a t interval of the mean ratio), and on the sunspots with
persistence. On ``membrane.dat`` the LSTM beats the AR but loses to gradient boosting;
on the sunspots the AR wins: the LSTM is claimed only to stay within a bounded ratio of
it and well below persistence (see ``Config``); the report says so.

References:
  Hochreiter & Schmidhuber, "Long short-term memory", Neural Computation 1997. Hyndman &
  Athanasopoulos, "Forecasting: principles and practice" (3rd ed., 2021), section 5.2
  (the naive method) and 5.8 (evaluating forecasts on a chronological test set).
  Friedman, "Greedy function approximation: a gradient boosting machine", Annals of
  Statistics 2001. Yule, "On a method of investigating periodicities in disturbed
  series, with special reference to Wolfer's sunspot numbers", Philosophical
  Transactions of the Royal Society A 226, 1927. Box, Jenkins, Reinsel & Ljung, "Time
  series analysis: forecasting and control" (5th ed., Wiley, 2015), series E (the
  yearly sunspot numbers). Ke et al., "LightGBM: a highly efficient gradient boosting decision
  tree", NeurIPS 2017. Makridakis, Spiliotis & Assimakopoulos, "M5 accuracy
  competition: results, findings, and conclusions", International Journal of
  Forecasting 2022 (gradient-boosted trees on lagged windows won it).
"""

from __future__ import annotations

import dataclasses
import pathlib
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

import jaxrnn
from experiments import _harness, _trainer
from jaxrnn import models, training

NAME = "forecasting"
# Seconds of the quick variant in the suite (2 workers on 2 busy cores): the suite
# starts the longest experiments first.
SUITE_SECONDS = 48
SAMPLE_FILE = "membrane.dat"  # matplotlib's sample data: the series "membrane"
SERIES = ("membrane", "sunspots", "path")  # "path": the file `Config.path`
SUNSPOTS_FIRST_YEAR = 1700  # the year of the sunspots' first value
SPLITS = ("train", "val", "test")
METHODS = ("naive", "linear", "boosting", "mlp", "lstm")
CALIBRATION_SEEDS = tuple(range(10))  # the thresholds were chosen on these (Config)
BASELINE_RANDOM_STATE = 0  # gradient boosting's fixed seed
# The sunspots' thresholds, frozen on CALIBRATION_SEEDS (Config): worst seed's test RMSE
# ratio of the LSTM to persistence, to the linear AR and to the best nonlinear model.
SUNSPOTS_MAX_RATIO_TO_NAIVE = 0.8
SUNSPOTS_MAX_RATIO_TO_LINEAR = 1.3
SUNSPOTS_MAX_RATIO_TO_NONLINEAR = 1.35


@dataclasses.dataclass(frozen=True)
class Config:
    r"""Forecasting a membrane potential and the sunspots: LSTM vs AR, boosting and an MLP.

    Command line::

        python -m experiments forecasting          # QUICK: both series, 3 held-out seeds
        python -m experiments forecasting --full   # FULL: 64 units, 6000 steps, 5 seeds
        python -m experiments forecasting --seeds=0,1,2,3,4,5,6,7,8,9   # calibration
        python -m experiments forecasting --series=membrane --horizon=1 --window=64
        python -m experiments forecasting --series=sunspots --sunspots-window=22
        python -m experiments forecasting --series=path --path=prices.csv --column=1

    The generic fields (``window``, ``horizon``, ``hidden_size``, ``num_steps``, the
    thresholds, ...) are the membrane's (and a ``path`` series'); the sunspots have
    their own ``sunspots_*`` fields (``series_config``). Expected result on the
    membrane, on the test part (the last 20%, windows cut inside it), every baseline
    fitted in the same run on the same windows:

    * QUICK (16 units, 1000 steps): the LSTM beats the least-squares AR(32) (0.755 x
      naive): test RMSE <= 0.95 x the AR's on every seed. It **loses to gradient
      boosting** on the same window (0.529 x naive) on every calibration seed, by 2-26%;
      the claim against it is restated as a bounded loss, test RMSE <= 1.35 x boosting's
      on every seed, which a model no better than the AR (1.43 x) or persistence
      (1.89 x) fails, but which does not say that recurrence helps. The MLP trained
      like the LSTM is level with it (LSTM / MLP 0.88-1.12).
    * FULL (64 units, 6000 steps) carries the claim that recurrence helps: the LSTM's
      test RMSE, mean over seeds, <= 0.97 x that of the best non-recurrent nonlinear
      model (chosen on validation: gradient boosting), and <= 0.95 x the AR's on every
      seed.

    Calibration (seeds ``CALIBRATION_SEEDS`` = 0..9 for QUICK, 0..2 for FULL; window 32,
    h = 2, batches of 64, Adam 1e-2 with cosine decay, clip 1, split 70/10/20): naive
    test RMSE 0.0192, AR(32) 0.755 x naive; gradient boosting (200 trees, no early
    stopping, ``random_state`` 0) validation RMSE 0.01186 / 0.01164 / 0.01220 at 7 / 15
    / 31 leaves, so 15 (QUICK fits only that one; FULL keeps the choice on validation),
    test 0.529 x naive; the 2x64 tanh MLP, validation 0.0144 (mean), so boosting is the
    nonlinear baseline in both variants.

    * QUICK, LSTM / naive over seeds 0..9: .590 .625 .668 .540 .620 .587 .570 .583 .577
      .570 (MLP .579-.646). LSTM / AR .715-.884 (mean .785): threshold 0.95, 0.066 above
      the worst of ten (1.6 standard deviations of the per-seed ratio), strict enough
      that a forecast equal to the AR's fails. LSTM / boosting 1.020-1.262 (mean 1.120,
      s.d. 0.068): threshold 1.35, 0.09 above the worst (1.3 s.d.). The first draft of
      the boosting claim was "LSTM below boosting, every seed" (1.0); it failed on
      every calibration seed, and the claim was restated as the bounded loss above
      rather than loosened silently. The AR threshold was first 1.0 (the claim's own
      words) and tightened to 0.95 so that a copy of the AR fails it.
    * FULL, seeds 0..2: LSTM / naive .420 .487 .512 (MLP .538-.591); LSTM / AR
      .556-.678; LSTM / boosting .793 .920 .967 (mean .893, s.d. .090). Every seed
      beats boosting but the worst by 3%, so the claim is on the mean over the
      held-out seeds (its t interval is reported): threshold 0.97, 0.08 above the
      calibration mean (about two standard errors for five seeds). The previous FULL
      (32 units, 2000 steps, seeds 0..4: LSTM / naive .539-.593, LSTM / boosting
      1.02-1.12) still lost to boosting; the LSTM underfits (training RMSE .0085 vs
      boosting's .0049), hence the larger FULL.

    Other settings, measured before this baseline existed (LSTM / naive, seeds 0..9):

    * h = 1: LSTM .69-.78, AR .79; h = 3: LSTM .47-.61, AR .76.
    * the split 60/20/20 (training sees regular firing only, the test part irregular
      firing): h = 1 LSTM .83-.87, behind AR's .79; predicting the value instead of the
      change, .82-.94; at h = 5, 1.2-1.7 (worse than naive). Hence 70/10/20 and
      ``predict_change``. Gradient boosting fitted on the value rather than the change
      forecasts the test part at 1.89 x naive (trees do not extrapolate), hence the
      change for it too.

    Held-out check, once, after the thresholds were frozen: QUICK (seeds 100..102)
    LSTM / AR max .811 (mean .752, 95% t interval [.626, .879]); LSTM / boosting max
    1.157 (mean 1.074 [.893, 1.254]): it loses to boosting on all three. FULL (seeds
    100..104) LSTM / naive .415-.502, LSTM / AR max .665; LSTM / boosting .784-.949,
    mean .877 [.801, .954]: it beats boosting on every held-out seed, and the MLP
    trained like it (LSTM / MLP .73-.92).

    Wall time on 2 cores, compilation included (the membrane alone): QUICK 15 s with
    the cores nearly free (load average ~1; LSTM 7 s, MLP 3 s, boosting 1 s), ~2.8 min
    under load (~15); FULL ~16 min for five seeds under load (the LSTM 15 of them).

    **Sunspots** (yearly, 1700-2008; window 11 years, h = 1 year, split 65/15/20:
    190/35/51 windows; LSTM 8 units, 500 steps of 32; the MLP as on the membrane, with
    the sunspots' steps and batches; boosting 3 leaves in QUICK, chosen on validation of
    3 / 7 / 15 in FULL). **The linear AR(11) is the strong baseline and the LSTM does not
    beat it**: AR 0.582 x naive (test RMSE 17.5 against persistence's 30.1), gradient
    boosting 0.560; the LSTM is level with the AR on average and behind it on most
    seeds. Claimed, on every seed: LSTM test RMSE <= ``sunspots_max_ratio_to_naive`` =
    0.8 x persistence's (it learns the cycle), and a **bounded loss** to the AR,
    <= ``sunspots_max_ratio_to_linear`` = 1.3 x its RMSE, and to the best non-recurrent
    nonlinear model on validation (boosting), <= ``sunspots_max_ratio_to_nonlinear`` =
    1.35 x. A forecast equal to persistence's fails all three (1.0, 1.72, 1.78).

    * Calibration, seeds 0..9: LSTM / naive .537 .694 .578 .585 .605 .609 .543 .663 .582
      .619 (mean .602, s.d. .049); LSTM / AR .923-1.194 (mean 1.034, s.d. .084; below 1
      on 3 of 10 seeds); LSTM / boosting .958-1.239 (mean 1.074, s.d. .087); the MLP (2x64
      tanh, overfitting the 190 windows: training RMSE 4-5 against the LSTM's 10)
      .694-.833 x naive, behind the LSTM on every seed (LSTM / MLP .67-.85). Thresholds:
      0.8, 0.106 above the worst seed (2.2 s.d.); 1.3, 0.106 above the worst (1.3 s.d.);
      1.35, 0.111 above the worst (1.3 s.d.).
    * Settings tried first (seeds 0..4, LSTM / AR): 16 units, 500 steps 1.06-1.22; 16
      units, lr 3e-3, 1000 steps 1.10-1.23; 32 units 1.08-1.28; window 22 1.33-1.47
      (fewer windows); the value instead of the change 1.04-1.42; 8 units (kept)
      .92-1.19.
    * Held-out check, once, after the thresholds were frozen (QUICK, seeds 100..102):
      LSTM / naive .557-.635; LSTM / AR 1.092 .957 1.060 (max 1.092, mean 1.037);
      LSTM / boosting max 1.134 (mean 1.076). All three pass; the AR beats the LSTM on
      two of the three seeds. The membrane's figures are unchanged by the second series
      (LSTM / AR max .811, LSTM / boosting max 1.157). FULL on the sunspots (the same
      model, seeds 100..104; boosting's validation RMSE 11.47 / 11.70 / 11.69 at 3 / 7
      / 15 leaves, so 3): LSTM / naive .557-.635, LSTM / AR .957-1.092 (mean 1.018, 95%
      t interval [.946, 1.090]), LSTM / boosting max 1.134; all three pass (56 s under
      load ~9). Seeds 100..102 give the same figures as in QUICK.
    * Wall time of both series, QUICK: 106 s under load (load average ~6-9; membrane
      53 s, sunspots 29 s: LSTM 17.5 s, MLP 11 s, boosting 0.2 s). Scaled by the
      membrane's ratio (15 s free, 53 s in that run), the sunspots add about 8 s with
      the cores free.

    Attributes:
      series: the series forecast, each with its claims: any of ``membrane``
        (matplotlib's ``membrane.dat``), ``sunspots`` (statsmodels' yearly sunspot
        numbers) and ``path`` (the file ``path``).
      path: the file of the ``path`` series (required with it, else empty): a ``.npy``
        file (1-d, or 2-d with ``column``) or a text file of numbers, one row per time
        step (comma-separated for ``.csv``, whitespace otherwise; leading rows that do
        not parse, e.g. a header, are skipped).
      column: the column of a 2-d file.
      window: ``w``, the values the forecast sees.
      horizon: ``h``, forecast ``x[t + h]`` from the window ending at ``t``.
      val_fraction: the chronological fraction in the validation part.
      test_fraction: the chronological fraction in the test part (the last).
      hidden_size: LSTM units.
      num_layers: LSTM layers.
      batch_size: windows per step and seed.
      num_steps: training steps.
      learning_rate: Adam's peak learning rate (cosine decay to 0 over the steps).
      predict_change: the head's output is the change ``x[t + h] - x[t]`` (added to the
        last value of the window: the LSTM refines persistence) rather than the value.
      max_grad_norm: global-norm clipping threshold.
      mlp_hidden_size: units per hidden layer of the MLP baseline.
      mlp_layers: hidden layers of the MLP baseline.
      boosting_leaf_nodes: the candidate leaves per tree of gradient boosting; the one
        with the lowest validation RMSE is used.
      boosting_iterations: boosting iterations (trees).
      max_ratio_to_linear: claim: LSTM test RMSE / AR's on every seed is at most this.
      max_ratio_to_nonlinear: claim: LSTM test RMSE / the best non-recurrent nonlinear
        model's is at most this (above 1: a bounded loss, not a win).
      nonlinear_reduce: ``max`` (every seed) or ``mean`` (over seeds) for that claim.
      seeds: one initialisation and data order per seed, trained together (vmapped);
        the held-out seeds, disjoint from ``CALIBRATION_SEEDS``.
      eval_every: validation period in steps (the validation curve).
      log_every: training-loss logging period.
      sunspots_window: the sunspots' ``window`` (years).
      sunspots_horizon: the sunspots' ``horizon`` (years).
      sunspots_val_fraction: the sunspots' ``val_fraction`` (``test_fraction`` shared).
      sunspots_hidden_size: the sunspots' LSTM units.
      sunspots_batch_size: the sunspots' windows per step and seed (LSTM and MLP).
      sunspots_num_steps: the sunspots' training steps (LSTM and MLP).
      sunspots_boosting_leaf_nodes: the sunspots' candidate leaves per tree.
      sunspots_max_ratio_to_naive: claim: LSTM test RMSE / persistence's on every seed
        is at most this.
      sunspots_max_ratio_to_linear: claim: LSTM test RMSE / the AR's on every seed is at
        most this (above 1: a bounded loss; the AR wins on the sunspots).
      sunspots_max_ratio_to_nonlinear: claim: LSTM test RMSE / the best non-recurrent
        nonlinear model's on every seed is at most this.
      sunspots_eval_every: the sunspots' validation period in steps.
    """

    series: tuple[str, ...] = ("membrane", "sunspots")
    path: str = ""
    column: int = 0
    window: int = 32
    horizon: int = 2
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    hidden_size: int = 16
    num_layers: int = 1
    batch_size: int = 64
    num_steps: int = 1000
    learning_rate: float = 1e-2
    predict_change: bool = True
    max_grad_norm: float = 1.0
    mlp_hidden_size: int = 64
    mlp_layers: int = 2
    boosting_leaf_nodes: tuple[int, ...] = (15,)
    boosting_iterations: int = 200
    max_ratio_to_linear: float = 0.95
    max_ratio_to_nonlinear: float = 1.35
    nonlinear_reduce: str = "max"
    seeds: tuple[int, ...] = (100, 101, 102)
    eval_every: int = 100
    log_every: int = 10
    sunspots_window: int = 11
    sunspots_horizon: int = 1
    sunspots_val_fraction: float = 0.15
    sunspots_hidden_size: int = 8
    sunspots_batch_size: int = 32
    sunspots_num_steps: int = 500
    sunspots_boosting_leaf_nodes: tuple[int, ...] = (3,)
    sunspots_max_ratio_to_naive: float = SUNSPOTS_MAX_RATIO_TO_NAIVE
    sunspots_max_ratio_to_linear: float = SUNSPOTS_MAX_RATIO_TO_LINEAR
    sunspots_max_ratio_to_nonlinear: float = SUNSPOTS_MAX_RATIO_TO_NONLINEAR
    sunspots_eval_every: int = 50

    def __post_init__(self):
        _harness.check_types(self)
        if not self.series or len(set(self.series)) != len(self.series):
            raise ValueError(f"Config: expected distinct `series`, at least one, got {self.series}")
        for name in self.series:
            if name not in SERIES:
                raise ValueError(f"Config: expected each of `series` in {SERIES}, got {name!r}")
        if ("path" in self.series) != bool(self.path):
            raise ValueError(
                "Config: `series` names 'path' exactly when `path` is given (a file to "
                f"forecast): got series {self.series} and path {self.path!r}"
            )
        positive = ("window", "horizon", "hidden_size", "num_layers", "batch_size")
        positive += ("mlp_hidden_size", "mlp_layers", "boosting_iterations")
        positive += ("sunspots_window", "sunspots_horizon", "sunspots_hidden_size")
        positive += ("sunspots_batch_size", "sunspots_num_steps")
        for field in positive:
            if getattr(self, field) < 1:
                raise ValueError(f"Config: expected `{field}` >= 1, got {getattr(self, field)}")
        for field in ("num_steps", "log_every"):
            if getattr(self, field) < 1:
                raise ValueError(f"Config: expected `{field}` >= 1, got {getattr(self, field)}")
        for field in ("eval_every", "sunspots_eval_every"):
            if getattr(self, field) < 0:
                raise ValueError(f"Config: expected `{field}` >= 0, got {getattr(self, field)}")
        if self.column < 0:
            raise ValueError(f"Config: expected `column` >= 0, got {self.column}")
        if self.nonlinear_reduce not in ("max", "mean"):
            raise ValueError(
                "Config: expected `nonlinear_reduce` 'max' or 'mean', got "
                f"{self.nonlinear_reduce!r}"
            )
        for field in ("boosting_leaf_nodes", "sunspots_boosting_leaf_nodes"):
            leaves = getattr(self, field)
            if not leaves or min(leaves) < 2:
                raise ValueError(
                    f"Config: expected `{field}`, at least one, each >= 2, got {leaves}"
                )
        for field in (
            "learning_rate",
            "max_grad_norm",
            "max_ratio_to_linear",
            "max_ratio_to_nonlinear",
            "sunspots_max_ratio_to_naive",
            "sunspots_max_ratio_to_linear",
            "sunspots_max_ratio_to_nonlinear",
        ):
            if not getattr(self, field) > 0:
                raise ValueError(f"Config: expected `{field}` > 0, got {getattr(self, field)}")
        for field in ("val_fraction", "test_fraction", "sunspots_val_fraction"):
            if not 0 < getattr(self, field) < 1:
                raise ValueError(f"Config: expected 0 < `{field}` < 1, got {getattr(self, field)}")
        for field in ("val_fraction", "sunspots_val_fraction"):
            if not getattr(self, field) + self.test_fraction < 1:
                raise ValueError(
                    f"Config: expected `{field}` + `test_fraction` < 1, got "
                    f"{getattr(self, field)} + {self.test_fraction}"
                )
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"Config: expected distinct `seeds`, at least one, got {self.seeds}")


QUICK = Config()
FULL = Config(
    hidden_size=64,
    num_steps=6000,
    max_ratio_to_nonlinear=0.97,
    nonlinear_reduce="mean",
    boosting_leaf_nodes=(7, 15, 31),
    seeds=(100, 101, 102, 103, 104),
    eval_every=500,
    sunspots_boosting_leaf_nodes=(3, 7, 15),
)


def series_config(config: Config, name: str) -> Config:
    """The settings of one series, a single-series config.

    ``config`` itself for ``membrane`` and ``path``; for ``sunspots`` ``config`` with its
    ``sunspots_*`` fields in place of the generic ones.

    Args:
      config: the experiment's config.
      name: one of ``config.series``.

    Returns:
      A config with ``series == (name,)``, whose generic fields (``window``, ``horizon``,
      ``hidden_size``, the thresholds, ...) are that series'.
    """
    if name != "sunspots":
        return dataclasses.replace(config, series=(name,), path=config.path * (name == "path"))
    return dataclasses.replace(
        config,
        series=(name,),
        path="",
        window=config.sunspots_window,
        horizon=config.sunspots_horizon,
        val_fraction=config.sunspots_val_fraction,
        hidden_size=config.sunspots_hidden_size,
        batch_size=config.sunspots_batch_size,
        num_steps=config.sunspots_num_steps,
        boosting_leaf_nodes=config.sunspots_boosting_leaf_nodes,
        max_ratio_to_linear=config.sunspots_max_ratio_to_linear,
        max_ratio_to_nonlinear=config.sunspots_max_ratio_to_nonlinear,
        nonlinear_reduce="max",
        eval_every=config.sunspots_eval_every,
    )


# ---------------------------------------------------------------------------------------
# Data.
# ---------------------------------------------------------------------------------------


def load_series(path: str = "", column: int = 0) -> np.ndarray:
    """The series to forecast, float64 ``(n,)``.

    Args:
      path: empty for matplotlib's ``membrane.dat`` (12,000 samples); else a ``.npy``
        file or a text file (``.csv``: comma-separated; otherwise whitespace), one row
        per time step. Leading rows that do not parse (a header) are skipped.
      column: the column of a 2-d file (ignored for a 1-d one).

    Returns:
      The values, finite.

    Raises:
      ValueError: ``path`` is not a file or does not hold a finite 1-d or 2-d series;
        ``column`` out of range.
    """
    if not path:
        from matplotlib import cbook

        file = cbook.get_sample_data(SAMPLE_FILE, asfileobj=False)
        return np.fromfile(file, dtype=np.float32).astype(np.float64)
    file = pathlib.Path(path).expanduser()
    if not file.is_file():
        raise ValueError(f"load_series: `path` {path!r} is not a file")
    try:
        if file.suffix == ".npy":
            data = np.load(file, allow_pickle=False)
        else:
            delimiter = "," if file.suffix == ".csv" else None
            data = np.genfromtxt(file, delimiter=delimiter, dtype=np.float64)
        data = np.asarray(data, dtype=np.float64)
    except (OSError, ValueError) as err:
        raise ValueError(f"load_series: cannot read `path` {path!r} as numbers: {err}") from err
    if data.ndim == 2:
        if not 0 <= column < data.shape[1]:
            raise ValueError(
                f"load_series: expected `column` in [0, {data.shape[1]}) for {path!r}, got {column}"
            )
        data = data[:, column]
    elif data.ndim != 1:
        raise ValueError(
            f"load_series: expected `path` {path!r} to hold a 1-d or 2-d array, got shape "
            f"{data.shape}"
        )
    finite = np.isfinite(data)
    if not finite.any():
        raise ValueError(f"load_series: `path` {path!r} holds no finite number")
    data = data[int(finite.argmax()) :]  # a header row parses as NaN
    bad = np.flatnonzero(~np.isfinite(data))
    if bad.size:
        raise ValueError(
            f"load_series: `path` {path!r} has a missing or non-finite value at data row "
            f"{int(bad[0])} (after any header); fill or drop it first"
        )
    return data


def load_sunspots() -> np.ndarray:
    """The yearly mean sunspot numbers 1700-2008, float64 ``(309,)``.

    ``statsmodels.datasets.sunspots`` (bundled with statsmodels: no download).

    Raises:
      ImportError: statsmodels is missing (the message says how to install it).
    """
    try:
        from statsmodels.datasets import sunspots
    except ImportError as err:
        raise ImportError(
            "forecasting: the series 'sunspots' needs statsmodels: pip install statsmodels "
            "(or pip install -e '.[experiments]'), or run --series=membrane"
        ) from err
    return sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(np.float64)


def series_values(config: Config) -> np.ndarray:
    """The raw values of ``config.series[0]`` (``membrane``, ``sunspots`` or ``path``)."""
    if config.series[0] == "sunspots":
        return load_sunspots()
    return load_series(config.path if config.series[0] == "path" else "", config.column)


def _source(config: Config) -> str:
    """The series' name in messages: the file for ``path``."""
    name = config.series[0]
    return {"membrane": SAMPLE_FILE, "sunspots": "sunspots", "path": config.path}.get(name, name)


def split_series(
    series: np.ndarray, val_fraction: float, test_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chronological split: ``(train, val, test)``, contiguous, in that order.

    Args:
      series: ``(n,)``.
      val_fraction: fraction of ``n`` in the validation part.
      test_fraction: fraction of ``n`` in the test part (the last values).

    Returns:
      Three views of ``series``, lengths ``n - v - s``, ``v = round(n val_fraction)``,
      ``s = round(n test_fraction)``.
    """
    n = len(series)
    num_val, num_test = round(n * val_fraction), round(n * test_fraction)
    first_val, first_test = n - num_val - num_test, n - num_test
    return series[:first_val], series[first_val:first_test], series[first_test:]


def make_windows(series: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of ``series`` and the value ``horizon`` steps after its end.

    Args:
      series: ``(n,)``.
      window: ``w``.
      horizon: ``h >= 1``.

    Returns:
      ``x (m, w)`` with ``x[i] = series[i : i + w]`` and ``y (m,)`` with
      ``y[i] = series[i + w - 1 + h]``, ``m = n - w - h + 1``.

    Raises:
      ValueError: ``n < w + h`` (not one window).
    """
    count = len(series) - window - horizon + 1
    if count < 1:
        raise ValueError(
            f"make_windows: a series of {len(series)} values holds no window of `window` "
            f"{window} and `horizon` {horizon} (needs >= {window + horizon})"
        )
    rows = np.arange(count)[:, None] + np.arange(window)[None, :]
    return series[rows], series[window - 1 + horizon :][:count]


def prepare_data(series: np.ndarray, config: Config) -> dict[str, np.ndarray]:
    """Splits, normalises with the training part's statistics, and windows each part.

    Args:
      series: ``(n,)`` raw values.
      config: window, horizon and split fractions.

    Returns:
      ``x_<part> (m, w, 1)`` float32 and ``y_<part> (m,)`` float32, normalised, for
      ``part`` in train, val, test; ``mean`` and ``std`` (of the training part, floats);
      ``start_<part>``: the index in ``series`` of the part's first value.

    Raises:
      ValueError: a part too short for one window (the message names ``path``), or a
        constant training part.
    """
    parts = split_series(series, config.val_fraction, config.test_fraction)
    need = config.window + config.horizon
    for name, part in zip(SPLITS, parts, strict=True):
        if len(part) < need + 1:
            raise ValueError(
                f"forecasting: the series (`path` {_source(config)!r}, {len(series)} "
                f"values) is too short: its {name} part has {len(part)} values, fewer than "
                f"`window` + `horizon` + 1 = {need + 1}"
            )
    mean, std = float(parts[0].mean()), float(parts[0].std())
    if not std > 0:
        raise ValueError(
            f"forecasting: the training part of `path` {_source(config)!r} is "
            "constant; nothing to normalise or learn"
        )
    out: dict[str, np.ndarray] = {"mean": mean, "std": std, "num_values": len(series)}
    start = 0
    for name, part in zip(SPLITS, parts, strict=True):
        x, y = make_windows((part - mean) / std, config.window, config.horizon)
        out[f"x_{name}"] = x[..., None].astype(np.float32)
        out[f"y_{name}"] = y.astype(np.float32)
        out[f"start_{name}"] = start
        start += len(part)
    return out


# ---------------------------------------------------------------------------------------
# Baselines and errors.
# ---------------------------------------------------------------------------------------


def naive_forecast(x: np.ndarray) -> np.ndarray:
    """Persistence: the last value of each window, ``x (m, w[, 1]) -> (m,)``."""
    x = np.asarray(x)
    return x[:, -1, 0] if x.ndim == 3 else x[:, -1]


def fit_linear(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares AR(w) coefficients: ``y ~ x @ coef[:-1] + coef[-1]``.

    Args:
      x: ``(m, w[, 1])`` training windows.
      y: ``(m,)`` targets.

    Returns:
      ``coef (w + 1,)``, the constant last.
    """
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    design = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    coef, *_ = np.linalg.lstsq(design, np.asarray(y, np.float64), rcond=None)
    return coef


def linear_forecast(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The AR(w) forecast ``x (m, w[, 1]) -> (m,)`` of ``fit_linear``'s coefficients."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    return x @ coef[:-1] + coef[-1]


def errors(prediction: np.ndarray, target: np.ndarray, scale: float = 1.0) -> dict[str, float]:
    """RMSE and MAE of ``prediction`` against ``target`` (both ``(..., m)``), times ``scale``.

    With normalised values and ``scale`` the training standard deviation, the errors are
    in the series' own units. Leading axes (seeds) give arrays.
    """
    diff = (np.asarray(prediction, np.float64) - np.asarray(target, np.float64)) * scale
    return {"rmse": np.sqrt(np.mean(diff**2, axis=-1)), "mae": np.mean(np.abs(diff), axis=-1)}


def fit_gradient_boosting(
    x: np.ndarray,
    y: np.ndarray,
    *,
    max_leaf_nodes: int = 15,
    max_iter: int = 200,
    random_state: int = 0,
):
    """Gradient-boosted trees on the window: the change ``y - x[:, -1]`` from the values.

    scikit-learn's ``HistGradientBoostingRegressor`` (least squares, no early stopping)
    on the ``w`` values of the window. It is fitted on the change, as the LSTM's head is:
    trees are piecewise constant and cannot extrapolate, so fitted on the value they
    would forecast no level outside the training range. One thread: the fit is then
    deterministic and does not stall when the cores are shared.

    Args:
      x: ``(m, w[, 1])`` training windows.
      y: ``(m,)`` targets.
      max_leaf_nodes: leaves per tree.
      max_iter: boosting iterations (trees).
      random_state: the estimator's seed.

    Returns:
      The fitted estimator; ``boosting_forecast`` forecasts with it.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    x = np.asarray(x, np.float64).reshape(len(x), -1)
    model = HistGradientBoostingRegressor(
        max_iter=max_iter,
        max_leaf_nodes=max_leaf_nodes,
        early_stopping=False,
        random_state=random_state,
    )
    with threadpool_limits(limits=1):
        return model.fit(x, np.asarray(y, np.float64) - x[:, -1])


def boosting_forecast(model, x: np.ndarray) -> np.ndarray:
    """The forecast ``x (m, w[, 1]) -> (m,)`` of ``fit_gradient_boosting``'s estimator."""
    from threadpoolctl import threadpool_limits

    x = np.asarray(x, np.float64).reshape(len(x), -1)
    with threadpool_limits(limits=1):
        return model.predict(x) + x[:, -1]


class WindowMLP(nn.Module):
    """A multilayer perceptron on the flattened window: the LSTM without recurrence.

    ``x (b, w, 1) -> (b, 1)``: ``num_layers`` dense layers of ``hidden_size`` tanh units
    on the ``w`` values, and a linear output, the same head as ``SequenceRegressor``'s.

    Attributes:
      hidden_size: units per hidden layer.
      num_layers: hidden layers.
    """

    hidden_size: int = 64
    num_layers: int = 2

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """``x (b, w, i) -> (b, 1)``."""
        h = x.reshape(x.shape[0], -1)
        for _ in range(self.num_layers):
            h = jnp.tanh(nn.Dense(self.hidden_size)(h))
        return nn.Dense(1)(h)


def train(
    config: Config, data: dict[str, np.ndarray], model: nn.Module, keys: jax.Array, name: str
) -> dict[str, np.ndarray]:
    """Trains ``model`` for every seed at once (vmapped) through ``_trainer.train_seeds``.

    The model maps windows ``(b, w, 1)`` to ``(b, 1)``: the change ``x[t + h] - x[t]``
    (``predict_change``) or the value, fitted on the MSE of the normalised target with
    Adam (cosine decay) after global-norm clipping.

    Args:
      config: the optimiser's settings and the data order's seeds.
      data: ``prepare_data``'s windows.
      model: the network, e.g. ``SequenceRegressor(LSTMCell(n))`` or ``WindowMLP()``.
      keys: ``(s,)`` one initialisation key per seed.
      name: the progress label.

    Returns:
      ``<part>_prediction (s, m_part)`` (normalised) for ``part`` in train, val, test,
      ``loss (logs, s)``, ``logged_steps (logs,)``, ``val_rmse (evals, s)`` (series
      units), ``eval_steps (evals,)``, ``nonfinite_steps (s,)``, ``seconds``.
    """
    optimizer = training.make_optimizer(
        config.learning_rate,
        config.max_grad_norm,
        schedule="cosine",
        total_steps=config.num_steps,
    )
    example = jnp.zeros((1, config.window, 1))

    def forecast(params, x):
        out = model.apply(params, x)[:, 0]
        return out + x[:, -1, 0] if config.predict_change else out

    def loss_fn(params, batch, rng):
        del rng
        return jnp.mean((forecast(params, batch["x"]) - batch["y"]) ** 2)

    @jax.jit
    def predict(params, x):
        return jax.vmap(lambda p: forecast(p, x))(params)

    def eval_fn(params):
        prediction = predict(params, data["x_val"])
        rmse = jnp.sqrt(jnp.mean((prediction - data["y_val"][None]) ** 2, axis=-1))
        return {"val_rmse": rmse * data["std"]}

    runs = _trainer.train_seeds(
        lambda key: model.init(key, example),
        loss_fn,
        optimizer,
        _trainer.stack_batches(
            {"x": data["x_train"], "y": data["y_train"]}, config.batch_size, config.seeds
        ),
        keys,
        num_steps=config.num_steps,
        eval_fn=eval_fn,
        eval_every=config.eval_every,
        log_every=config.log_every,
        progress=False,
        description=name,
    )
    params = runs.state.params
    return {
        **{
            f"{part}_prediction": np.asarray(predict(params, data[f"x_{part}"]), np.float64)
            for part in SPLITS
        },
        "loss": runs.loss,
        "logged_steps": runs.steps,
        "val_rmse": np.asarray([row["val_rmse"] for row in runs.evals], np.float64),
        "eval_steps": np.asarray([row["step"] for row in runs.evals]),
        "nonfinite_steps": np.asarray(jax.device_get(runs.state.nonfinite_total)),
        "seconds": runs.seconds,
    }


def select_boosting(config: Config, data: dict[str, np.ndarray]) -> tuple[object, dict]:
    """Gradient boosting with the ``boosting_leaf_nodes`` that forecasts validation best.

    Returns:
      ``(model, record)``: the chosen estimator and ``{"leaf_nodes", "val_rmse"}`` (every
      candidate's validation RMSE, series units), ``"chosen"``, ``"seconds"``.
    """
    start = time.perf_counter()
    fitted, val_rmse = [], []
    for leaf_nodes in config.boosting_leaf_nodes:
        model = fit_gradient_boosting(
            data["x_train"],
            data["y_train"],
            max_leaf_nodes=leaf_nodes,
            max_iter=config.boosting_iterations,
            random_state=BASELINE_RANDOM_STATE,
        )
        fitted.append(model)
        prediction = boosting_forecast(model, data["x_val"])
        val_rmse.append(float(errors(prediction, data["y_val"], data["std"])["rmse"]))
    best = int(np.argmin(val_rmse))
    record = {
        "leaf_nodes": list(config.boosting_leaf_nodes),
        "val_rmse": val_rmse,
        "chosen": config.boosting_leaf_nodes[best],
        "seconds": time.perf_counter() - start,
    }
    return fitted[best], record


def measure(config: Config) -> tuple[dict[str, np.ndarray], dict]:
    """Data, the four baselines and the trained LSTM: ``(data, measured)``.

    On the one series ``config.series[0]`` with ``config``'s generic settings (a
    ``series_config``).

    ``measured[part][method]`` holds ``rmse`` and ``mae`` (series units; arrays over
    seeds for ``mlp`` and ``lstm``) for ``part`` in train, val, test and ``method`` in
    ``METHODS``; ``measured["lstm"]`` and ``measured["mlp"]`` the training records of
    ``train``, ``measured["boosting"]`` ``select_boosting``'s record,
    ``measured["nonlinear"]`` the non-recurrent nonlinear model with the lower
    validation RMSE (``"boosting"`` or ``"mlp"``, the MLP by its mean over seeds).
    """
    data = prepare_data(series_values(config), config)
    coef = fit_linear(data["x_train"], data["y_train"])
    booster, boosting = select_boosting(config, data)
    lstm = models.SequenceRegressor(
        jaxrnn.LSTMCell(config.hidden_size), num_layers=config.num_layers
    )
    mlp = WindowMLP(config.mlp_hidden_size, config.mlp_layers)
    recurrent = train(config, data, lstm, _trainer.seed_keys(config.seeds), f"{NAME} lstm")
    perceptron = train(config, data, mlp, _trainer.seed_keys(config.seeds, 1), f"{NAME} mlp")
    measured: dict = {"lstm": recurrent, "mlp": perceptron, "boosting": boosting}
    measured["linear_coef"] = coef
    for part in SPLITS:
        x, y = data[f"x_{part}"], data[f"y_{part}"]
        measured[part] = {
            "naive": errors(naive_forecast(x), y, data["std"]),
            "linear": errors(linear_forecast(coef, x), y, data["std"]),
            "boosting": errors(boosting_forecast(booster, x), y, data["std"]),
            "mlp": errors(perceptron[f"{part}_prediction"], y[None], data["std"]),
            "lstm": errors(recurrent[f"{part}_prediction"], y[None], data["std"]),
        }
        boosting[f"{part}_prediction"] = boosting_forecast(booster, x)
    measured["nonlinear"] = best_nonlinear(measured)
    return data, measured


def best_nonlinear(measured: dict) -> str:
    """``"boosting"`` or ``"mlp"``: the one with the lower validation RMSE."""
    val = measured["val"]
    return "boosting" if val["boosting"]["rmse"] <= np.mean(val["mlp"]["rmse"]) else "mlp"


# ---------------------------------------------------------------------------------------
# Claims, table, figures, summary.
# ---------------------------------------------------------------------------------------


def _label(method: str, config: Config) -> str:
    return {
        "naive": "naive (last value)",
        "linear": f"linear AR({config.window})",
        "boosting": "gradient boosting",
        "mlp": f"MLP {config.mlp_layers}x{config.mlp_hidden_size}",
        "lstm": "LSTM",
    }[method]


def _claims(config: Config, measured: dict) -> list[_harness.Claim]:
    """The LSTM's per-seed test RMSE against the linear AR and the best nonlinear model.

    The nonlinear baseline is the non-recurrent model (gradient boosting or the MLP)
    with the lower validation RMSE; the thresholds are ``Config``'s. ``config`` is a
    ``series_config``: on the sunspots the claims' names start with ``sunspots:`` and a
    first claim bounds the LSTM's ratio to persistence
    (``sunspots_max_ratio_to_naive``); the membrane's claims are unprefixed.
    """
    test = measured["test"]
    lstm = test["lstm"]["rmse"]
    nonlinear = measured["nonlinear"]
    high = config.max_ratio_to_nonlinear
    reduce = config.nonlinear_reduce
    over = "every seed" if reduce == "max" else "mean over seeds"
    if high > 1:  # the LSTM loses to it at this budget (Config): a bounded loss
        name = f"LSTM test RMSE within {high:g} x the best non-recurrent nonlinear model's"
    else:
        name = f"LSTM test RMSE <= {high:g} x the best non-recurrent nonlinear model's"
    if config.max_ratio_to_linear > 1:  # the AR wins (the sunspots): a bounded loss
        linear = f"LSTM test RMSE within {config.max_ratio_to_linear:g} x the linear AR's"
    else:
        linear = f"LSTM test RMSE <= {config.max_ratio_to_linear:g} x the linear AR's"
    claims = [
        _harness.versus(
            f"{linear}, every seed",
            lstm,
            _label("linear", config),
            test["linear"]["rmse"],
            high=config.max_ratio_to_linear,
        ),
        _harness.versus(
            f"{name} (chosen on validation), {over}",
            lstm,
            _label(nonlinear, config),
            test[nonlinear]["rmse"],
            high=high,
            reduce=reduce,
        ),
    ]
    if config.series[0] != "sunspots":
        return claims
    bound = config.sunspots_max_ratio_to_naive
    naive = _harness.versus(
        f"LSTM test RMSE <= {bound:g} x persistence's, every seed",
        lstm,
        _label("naive", config),
        test["naive"]["rmse"],
        high=bound,
    )
    return [
        dataclasses.replace(claim, name=f"sunspots: {claim.name}") for claim in [naive, *claims]
    ]


def _table(config: Config, data: dict, measured: dict) -> str:
    rows = [("method", "test RMSE", "test MAE", "RMSE / naive", "val RMSE", "train RMSE")]
    test, val, fit = measured["test"], measured["val"], measured["train"]
    naive = test["naive"]["rmse"]
    for method in ("naive", "linear", "boosting"):
        rows.append(
            (
                _label(method, config),
                f"{test[method]['rmse']:.5f}",
                f"{test[method]['mae']:.5f}",
                f"{test[method]['rmse'] / naive:.3f}",
                f"{val[method]['rmse']:.5f}",
                f"{fit[method]['rmse']:.5f}",
            )
        )
    for method in ("mlp", "lstm"):
        for i, seed in enumerate(config.seeds):
            rows.append(
                (
                    f"{_label(method, config)} seed {seed}",
                    f"{test[method]['rmse'][i]:.5f}",
                    f"{test[method]['mae'][i]:.5f}",
                    f"{test[method]['rmse'][i] / naive:.3f}",
                    f"{val[method]['rmse'][i]:.5f}",
                    f"{fit[method]['rmse'][i]:.5f}",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    head = (
        f"window {config.window}, horizon {config.horizon}; windows train/val/test "
        f"{len(data['y_train'])}/{len(data['y_val'])}/{len(data['y_test'])}; LSTM "
        f"{config.hidden_size} units, MLP and LSTM {config.num_steps} steps "
        f"({measured['mlp']['seconds']:.1f} s, {measured['lstm']['seconds']:.1f} s); boosting "
        f"{measured['boosting']['chosen']} leaves (of {config.boosting_leaf_nodes}, on val), "
        f"{measured['boosting']['seconds']:.1f} s"
    )
    return "\n".join(
        [head] + ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    )


def _forecast_figure(config: Config, data: dict, measured: dict) -> Figure:
    mean, std = data["mean"], data["std"]
    y = data["y_test"] * std + mean
    # Time index of each target in the whole series (the year for the sunspots).
    t = data["start_test"] + config.window - 1 + config.horizon + np.arange(len(y))
    sunspots = config.series[0] == "sunspots"
    t, xlabel = (t + SUNSPOTS_FIRST_YEAR, "year") if sunspots else (t, "t")
    lstm = measured["lstm"]["test_prediction"] * std + mean
    naive = naive_forecast(data["x_test"]) * std + mean
    linear = linear_forecast(measured["linear_coef"], data["x_test"]) * std + mean
    boosting = measured["boosting"]["test_prediction"] * std + mean
    worst = int(np.argmax(measured["test"]["lstm"]["rmse"]))
    fig = Figure(figsize=(11, 7.5), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    top.plot(t, y, color="k", lw=0.8, label="truth")
    top.plot(t, lstm[worst], color="C0", lw=0.8, label=f"LSTM (worst seed, {config.seeds[worst]})")
    top.set(title=f"test part: {config.horizon}-step-ahead forecast", xlabel=xlabel, ylabel="value")
    top.legend(fontsize="small")
    top.grid(alpha=0.3)
    # Zoom on the stretch where the naive forecast errs most (a spike, on membrane.dat).
    span = min(len(y), 40 * config.horizon + 4 * config.window)
    centre = int(np.argmax(np.convolve(np.abs(naive - y), np.ones(span), mode="valid")))
    zoom = slice(centre, centre + span)
    top.axvspan(t[zoom][0], t[zoom][-1], color="C1", alpha=0.15)
    bottom.plot(t[zoom], y[zoom], "k.-", lw=0.8, ms=3, label="truth")
    bottom.plot(t[zoom], naive[zoom], color="C3", lw=0.8, label="naive (last value)")
    bottom.plot(t[zoom], linear[zoom], color="C2", lw=0.8, label=_label("linear", config))
    bottom.plot(t[zoom], boosting[zoom], color="C4", lw=0.8, label="gradient boosting")
    for i in range(len(config.seeds)):
        label = "LSTM" if i == 0 else None
        bottom.plot(t[zoom], lstm[i][zoom], color="C0", lw=0.8, alpha=0.7, label=label)
    bottom.set(title="zoom (shaded above); LSTM: every seed", xlabel=xlabel, ylabel="value")
    bottom.legend(fontsize="small")
    bottom.grid(alpha=0.3)
    return fig


def _training_figure(config: Config, measured: dict) -> Figure:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    for method, color in (("lstm", "C0"), ("mlp", "C1")):
        record = measured[method]
        window = max(1, min(10, len(record["loss"])))
        smoothed = _harness.moving_average(record["loss"], window)
        for i in range(len(config.seeds)):
            label = _label(method, config) if i == 0 else None
            left.plot(record["logged_steps"], smoothed[:, i], color=color, lw=0.8, label=label)
            right.plot(
                record["eval_steps"],
                record["val_rmse"][:, i],
                ".-",
                color=color,
                lw=0.8,
                label=label,
            )
    left.set(
        yscale="log",
        title="training MSE (normalised; 10-log mean), every seed",
        xlabel="step",
        ylabel="MSE",
    )
    for method, style in (("naive", "--"), ("linear", ":"), ("boosting", "-.")):
        right.axhline(
            measured["val"][method]["rmse"], color="k", ls=style, label=_label(method, config)
        )
    right.set(yscale="log", title="validation RMSE", xlabel="step", ylabel="RMSE (series units)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return fig


def _summary(config: Config, data: dict, measured: dict) -> str:
    test = measured["test"]
    naive = test["naive"]["rmse"]
    lstm, mlp = test["lstm"]["rmse"], test["mlp"]["rmse"]
    nonlinear = measured["nonlinear"]
    best = np.mean(test[nonlinear]["rmse"])
    source = {
        "path": f"`{config.path}` (column {config.column})",
        "membrane": "a neuron's membrane potential (matplotlib's sample data "
        "`membrane.dat`, 12,000 samples)",
        "sunspots": "the yearly sunspot numbers 1700-2008 (statsmodels, 309 values; Box & "
        "Jenkins' series E)",
    }[config.series[0]]
    wins, linear_wins = int(np.sum(lstm < best)), int(np.sum(lstm < test["linear"]["rmse"]))
    seeds, label = len(lstm), _label(nonlinear, config)
    if wins == seeds:
        verdict = "recurrence helps beyond nonlinearity on this window."
    elif wins == 0 and linear_wins < seeds:
        verdict = (
            f"the LSTM loses to {label} on every seed and to the linear AR on "
            f"{seeds - linear_wins}: on this series the simpler models win."
        )
    elif wins == 0:
        verdict = (
            f"the LSTM loses to {label} on every seed: what it gains over the linear AR is "
            "nonlinearity, which a non-recurrent model on the same window supplies better."
        )
    else:
        verdict = "these seeds do not separate recurrence from nonlinearity."
    verdict = (
        f"The LSTM beats the linear AR on {linear_wins} of {seeds} seeds and the best "
        f"non-recurrent nonlinear model ({label}, chosen on validation, "
        f"{best / naive:.3f} x naive) on {wins} of {seeds}: {verdict}"
    )
    return (
        f"{config.horizon}-step-ahead forecasts of {source} from windows of "
        f"{config.window} values, split chronologically (train / val / test "
        f"{1 - config.val_fraction - config.test_fraction:.0%} / {config.val_fraction:.0%} "
        f"/ {config.test_fraction:.0%}), normalised with the training part's statistics. "
        f"An LSTM ({config.hidden_size} units, a dense head on the last step; "
        f"{config.num_steps} Adam steps, {len(config.seeds)} seeds) against four baselines "
        f"fitted in the same run on the same windows: persistence, a least-squares "
        f"AR({config.window}), gradient-boosted trees (scikit-learn, "
        f"{measured['boosting']['chosen']} leaves chosen on validation) and an MLP "
        f"({config.mlp_layers}x{config.mlp_hidden_size} tanh, trained like the LSTM). "
        f"Test RMSE / naive ({naive:.4g}): linear {test['linear']['rmse'] / naive:.3f}, "
        f"boosting {test['boosting']['rmse'] / naive:.3f}, MLP {mlp.min() / naive:.3f}-"
        f"{mlp.max() / naive:.3f}, LSTM {lstm.min() / naive:.3f}-{lstm.max() / naive:.3f} "
        f"over seeds. {verdict}"
    )


def _metrics(config: Config, data: dict, measured: dict) -> dict:
    """The JSON-able record of one series (``config`` a ``series_config``)."""
    lstm, mlp = measured["lstm"], measured["mlp"]
    test = measured["test"]
    training_keys = ("loss", "logged_steps", "val_rmse", "eval_steps", "nonfinite_steps")
    thresholds = {
        "max_ratio_to_linear": config.max_ratio_to_linear,
        "max_ratio_to_nonlinear": config.max_ratio_to_nonlinear,
    }
    if config.series[0] == "sunspots":
        thresholds["max_ratio_to_naive"] = config.sunspots_max_ratio_to_naive
    return {
        "source": _source(config),
        "window": config.window,
        "horizon": config.horizon,
        "num_values": data["num_values"],
        "normalisation": {"mean": data["mean"], "std": data["std"]},
        "windows": {part: len(data[f"y_{part}"]) for part in SPLITS},
        "test": measured["test"],
        "val": measured["val"],
        "ratio_to_naive": {m: test[m]["rmse"] / test["naive"]["rmse"] for m in METHODS},
        "ratio_to_linear": {m: test[m]["rmse"] / test["linear"]["rmse"] for m in METHODS},
        "best_nonlinear": measured["nonlinear"],
        "boosting": {k: v for k, v in measured["boosting"].items() if "prediction" not in k},
        "linear_coef": measured["linear_coef"],
        "training": {key: lstm[key] for key in training_keys},
        "mlp_training": {key: mlp[key] for key in training_keys},
        "seconds": {"lstm": lstm["seconds"], "mlp": mlp["seconds"]},
        "thresholds": thresholds,
    }


def run(config: Config = QUICK) -> _harness.Result:
    """Runs the experiment on each of ``config.series``; see ``Config`` for the result.

    ``metrics[name]`` holds each series' record; the figures of ``membrane`` are
    ``forecast`` and ``training``, those of another series ``<name>_forecast`` and
    ``<name>_training``.
    """
    metrics: dict = {"series": list(config.series)}
    claims, tables, summaries, figures = [], [], [], {}
    for name in config.series:
        settings = series_config(config, name)
        data, measured = measure(settings)
        metrics[name] = _metrics(settings, data, measured)
        claims += _claims(settings, measured)
        tables.append(f"[{name}] {_table(settings, data, measured)}")
        summaries.append(_summary(settings, data, measured))
        stem = "" if name == "membrane" else f"{name}_"
        figures[f"{stem}forecast"] = _forecast_figure(settings, data, measured)
        figures[f"{stem}training"] = _training_figure(settings, measured)
    return _harness.Result(
        name=NAME,
        config=config,
        seeds=config.seeds,
        metrics=metrics,
        claims=claims,
        summary=" ".join(summaries),
        table="\n\n".join(tables),
        figures=figures,
        calibration_seeds=CALIBRATION_SEEDS,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m experiments.forecasting [--full] [--key=value ...]``."""
    return _harness.module_main(NAME, __name__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
