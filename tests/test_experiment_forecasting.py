"""Tests of the forecasting experiment: data, split, baselines and a seconds-long run."""

import dataclasses
import json
import math

import numpy as np
import pytest

from experiments import _harness, _trainer, forecasting

# The default series is matplotlib's sample data (the `experiments` extra).
pytest.importorskip("matplotlib")

SMOKE = forecasting.Config(
    window=6,
    horizon=2,
    hidden_size=4,
    batch_size=8,
    num_steps=4,
    mlp_hidden_size=4,
    boosting_leaf_nodes=(3, 7),
    boosting_iterations=5,
    seeds=(100, 101),
    eval_every=2,
    log_every=1,
    sunspots_window=5,
    sunspots_hidden_size=4,
    sunspots_batch_size=8,
    sunspots_num_steps=4,
    sunspots_boosting_leaf_nodes=(3, 5),
    sunspots_eval_every=2,
)


def _nonlinear_windows(count, window=4, seed=0):
    """Windows of i.i.d. normals and a noiseless nonlinear target: a threshold and a tanh.

    ``y = x[-1] + 0.5 sign(x[-2]) + tanh(2 x[-3])``: no linear function of the window
    fits it (its best linear fit leaves an RMSE of about 0.3).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, window))
    y = x[:, -1] + 0.5 * np.sign(x[:, -2]) + np.tanh(2 * x[:, -3])
    return x, y


def _write_series(tmp_path, values, name="series.npy"):
    path = tmp_path / name
    np.save(path, np.asarray(values, dtype=np.float64))
    return str(path)


def test_default_series_is_the_membrane_recording():
    series = forecasting.load_series()
    assert series.shape == (12000,) and series.dtype == np.float64
    assert np.all(np.isfinite(series))
    assert -0.7 < series.min() < -0.6 and 0.0 < series.max() < 0.2  # rest ... spike peak


def test_make_windows_targets_are_horizon_steps_after_the_window():
    series = np.arange(10.0)
    x, y = forecasting.make_windows(series, window=3, horizon=2)
    assert x.shape == (6, 3) and y.shape == (6,)
    np.testing.assert_array_equal(x[0], [0, 1, 2])
    np.testing.assert_array_equal(x[-1], [5, 6, 7])
    np.testing.assert_array_equal(y, x[:, -1] + 2)  # x[t + h] of the window ending at t
    with pytest.raises(ValueError, match="`window` 8 and `horizon` 3"):
        forecasting.make_windows(series, window=8, horizon=3)


def test_split_is_chronological_and_covers_the_series():
    series = np.arange(100.0)
    train, val, test = forecasting.split_series(series, 0.1, 0.2)
    assert (len(train), len(val), len(test)) == (70, 10, 20)
    np.testing.assert_array_equal(np.concatenate([train, val, test]), series)
    assert train.max() < val.min() and val.max() < test.min()


def test_prepare_data_normalises_with_train_statistics_and_never_leaks(tmp_path):
    # A series whose value is its time index: every normalised value maps back to the
    # time step it came from, so any input or target outside its part shows.
    series = np.arange(200.0)
    config = dataclasses.replace(SMOKE, series=("path",), path=_write_series(tmp_path, series))
    data = forecasting.prepare_data(forecasting.load_series(config.path), config)
    train, val, _ = forecasting.split_series(series, config.val_fraction, config.test_fraction)
    assert data["mean"] == pytest.approx(train.mean()) and data["std"] == pytest.approx(train.std())
    assert data["mean"] != pytest.approx(series.mean())  # not the whole series' statistics
    bounds = {"train": (0, len(train)), "val": (len(train), len(train) + len(val))}
    bounds["test"] = (len(train) + len(val), len(series))
    for part, (low, high) in bounds.items():
        assert data[f"start_{part}"] == low
        x = data[f"x_{part}"][..., 0] * data["std"] + data["mean"]
        y = data[f"y_{part}"] * data["std"] + data["mean"]
        index_x, index_y = np.round(x).astype(int), np.round(y).astype(int)
        assert index_x.min() == low and index_y.max() == high - 1
        np.testing.assert_array_equal(index_y, index_x[:, -1] + config.horizon)
        assert data[f"x_{part}"].shape[1:] == (config.window, 1)
        assert data[f"x_{part}"].dtype == np.float32
    assert abs(data["x_train"].mean()) < 0.1  # centred by the training statistics


def test_naive_and_linear_baselines():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]])
    np.testing.assert_array_equal(forecasting.naive_forecast(x), [3.0, 7.0])
    np.testing.assert_array_equal(forecasting.naive_forecast(x[..., None]), [3.0, 7.0])
    # An exact AR(2) process is recovered by least squares.
    rng = np.random.default_rng(0)
    series = np.zeros(300)
    series[:2] = rng.normal(size=2)
    for t in range(2, 300):
        series[t] = 0.5 * series[t - 1] - 0.3 * series[t - 2] + 0.1 + 0.01 * rng.normal()
    windows, targets = forecasting.make_windows(series, window=2, horizon=1)
    coef = forecasting.fit_linear(windows, targets)
    np.testing.assert_allclose(coef, [-0.3, 0.5, 0.1], atol=0.02)
    prediction = forecasting.linear_forecast(coef, windows[..., None])
    assert forecasting.errors(prediction, targets)["rmse"] < 0.015


def test_gradient_boosting_fits_a_noiseless_nonlinear_map():
    x, y = _nonlinear_windows(4000)
    x_new, y_new = _nonlinear_windows(1000, seed=1)
    model = forecasting.fit_gradient_boosting(x, y, max_leaf_nodes=15, max_iter=200)
    boosting = forecasting.errors(forecasting.boosting_forecast(model, x_new[..., None]), y_new)
    coef = forecasting.fit_linear(x, y)
    linear = forecasting.errors(forecasting.linear_forecast(coef, x_new), y_new)
    assert linear["rmse"] > 0.25  # the map is not linear in the window
    assert boosting["rmse"] < 0.1 and boosting["rmse"] < 0.3 * linear["rmse"]
    # Fixed random_state, one thread: the same trees twice.
    again = forecasting.fit_gradient_boosting(x, y, max_leaf_nodes=15, max_iter=200)
    np.testing.assert_array_equal(again.predict(x_new), model.predict(x_new))


def test_window_mlp_fits_a_noiseless_nonlinear_map():
    x, y = _nonlinear_windows(3000)
    x_new, y_new = _nonlinear_windows(1000, seed=1)
    data = {"std": 1.0, "x_train": x[..., None].astype(np.float32), "y_train": y.astype(np.float32)}
    for part in ("val", "test"):
        data[f"x_{part}"], data[f"y_{part}"] = data["x_train"][:10], data["y_train"][:10]
    data["x_test"], data["y_test"] = x_new[..., None].astype(np.float32), y_new.astype(np.float32)
    config = forecasting.Config(window=4, batch_size=64, num_steps=600, seeds=(0, 1))
    model = forecasting.WindowMLP(hidden_size=32, num_layers=2)
    record = forecasting.train(config, data, model, _trainer.seed_keys(config.seeds), "test")
    mlp = forecasting.errors(record["test_prediction"], y_new[None])
    linear = forecasting.errors(
        forecasting.linear_forecast(forecasting.fit_linear(x, y), x_new), y_new
    )
    assert record["test_prediction"].shape == (2, 1000)
    assert np.all(mlp["rmse"] < 0.4 * linear["rmse"]), (mlp["rmse"], linear["rmse"])


def _measured(lstm_rmse, naive=1.0, linear=0.75, boosting=0.53, mlp=(0.6, 0.61, 0.62)):
    """A ``measure`` record with given test RMSEs; validation ranks boosting first."""
    seeds = len(lstm_rmse)
    test = {
        "naive": {"rmse": naive},
        "linear": {"rmse": linear},
        "boosting": {"rmse": boosting},
        "mlp": {"rmse": np.asarray(mlp[:seeds])},
        "lstm": {"rmse": np.asarray(lstm_rmse, np.float64)},
    }
    val = {"boosting": {"rmse": 0.5}, "mlp": {"rmse": np.full(seeds, 0.6)}}
    measured = {"test": test, "val": val}
    measured["nonlinear"] = forecasting.best_nonlinear(measured)
    return measured


def test_best_nonlinear_is_chosen_on_validation_not_test():
    measured = _measured([0.5, 0.5, 0.5], boosting=0.9)  # worse on test, better on val
    assert measured["nonlinear"] == "boosting"
    measured["val"]["mlp"]["rmse"] = np.full(3, 0.4)
    assert forecasting.best_nonlinear(measured) == "mlp"


@pytest.mark.parametrize("config", [forecasting.QUICK, forecasting.FULL], ids=["quick", "full"])
def test_claims_fail_when_the_lstm_is_replaced_by_a_baseline(config):
    seeds = len(config.seeds)
    # The LSTM's forecasts replaced by persistence or the linear AR: every claim fails
    # (the nonlinear one too: both lose to boosting by more than the allowed ratio).
    for method in ("naive", "linear"):
        measured = _measured([0.0] * seeds)
        measured["test"]["lstm"]["rmse"] = np.full(seeds, measured["test"][method]["rmse"])
        claims = forecasting._claims(config, measured)
        assert not any(claim.passed for claim in claims), method
        assert [c.baseline for c in claims] == ["linear AR(32)", "gradient boosting"]
    # Just past the allowed ratio to the nonlinear model (one seed for the worst-seed
    # claim, the mean for the mean claim) fails that claim.
    for factor, passed in ((1.01, False), (0.99, True)):
        edge = 0.53 * config.max_ratio_to_nonlinear * factor
        rmse = [0.3] * (seeds - 1) + [edge] if config.nonlinear_reduce == "max" else [edge] * seeds
        assert forecasting._claims(config, _measured(rmse))[1].passed is passed
    # A model ahead of every baseline passes them all.
    ahead = forecasting._claims(config, _measured([0.3] * seeds))
    assert all(claim.passed for claim in ahead)
    assert ahead[1].baseline_value == pytest.approx(0.53)
    assert ahead[1].interval[0] <= ahead[1].mean <= ahead[1].interval[1]


def test_default_seeds_are_held_out():
    for config in (forecasting.QUICK, forecasting.FULL):
        assert _harness.held_out(config.seeds, forecasting.CALIBRATION_SEEDS)


def test_errors_rmse_mae_in_series_units():
    got = forecasting.errors(np.array([1.0, 3.0]), np.array([0.0, 0.0]), scale=2.0)
    assert got["rmse"] == pytest.approx(2 * math.sqrt(5)) and got["mae"] == pytest.approx(4.0)
    per_seed = forecasting.errors(np.zeros((3, 4)), np.ones(4))
    np.testing.assert_allclose(per_seed["rmse"], [1.0, 1.0, 1.0])


def test_load_series_from_text_files(tmp_path):
    csv = tmp_path / "prices.csv"
    csv.write_text("date,open,close\n1,10.0,11.0\n2,12.0,13.0\n3,14.0,15.0\n")
    np.testing.assert_array_equal(forecasting.load_series(str(csv), column=2), [11.0, 13.0, 15.0])
    txt = tmp_path / "values.txt"
    txt.write_text("1.5\n2.5\n3.5\n")
    np.testing.assert_array_equal(forecasting.load_series(str(txt)), [1.5, 2.5, 3.5])


def test_load_series_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match=r"`path` '.*missing.npy' is not a file"):
        forecasting.load_series(str(tmp_path / "missing.npy"))
    csv = tmp_path / "gap.csv"
    csv.write_text("a,b\n1,2\n3,\n5,6\n")
    with pytest.raises(ValueError, match=r"`path` .* non-finite value at data row 1"):
        forecasting.load_series(str(csv), column=1)
    with pytest.raises(ValueError, match=r"`column` in \[0, 2\)"):
        forecasting.load_series(str(csv), column=2)
    with pytest.raises(ValueError, match=r"`path` .* holds no finite number"):
        forecasting.load_series(_write_series(tmp_path, [np.nan, np.nan]))


def test_too_short_or_constant_series_raise(tmp_path):
    config = dataclasses.replace(
        SMOKE, series=("path",), path=_write_series(tmp_path, np.arange(30.0))
    )
    with pytest.raises(ValueError, match=r"`path` '.*series.npy'.* too short: its val part"):
        forecasting.prepare_data(forecasting.load_series(config.path), config)
    flat = dataclasses.replace(
        SMOKE, series=("path",), path=_write_series(tmp_path, np.ones(400), "flat.npy")
    )
    with pytest.raises(ValueError, match="constant"):
        forecasting.prepare_data(forecasting.load_series(flat.path), flat)


def test_config_rejects_wrong_types_and_values():
    with pytest.raises(ValueError, match="--window: expected int, got 'wide'"):
        _harness.parse_overrides(forecasting.QUICK, ["--window=wide"])
    with pytest.raises(TypeError, match="`learning_rate`"):
        forecasting.Config(learning_rate="fast")
    with pytest.raises(ValueError, match="`horizon` >= 1"):
        forecasting.Config(horizon=0)
    with pytest.raises(ValueError, match=r"`val_fraction` \+ `test_fraction` < 1"):
        forecasting.Config(val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match="`boosting_leaf_nodes`"):
        forecasting.Config(boosting_leaf_nodes=(1,))
    with pytest.raises(ValueError, match="`nonlinear_reduce` 'max' or 'mean'"):
        forecasting.Config(nonlinear_reduce="min")
    with pytest.raises(ValueError, match="`mlp_hidden_size` >= 1"):
        forecasting.Config(mlp_hidden_size=0)
    with pytest.raises(ValueError, match="`sunspots_window` >= 1"):
        forecasting.Config(sunspots_window=0)
    with pytest.raises(ValueError, match=r"`sunspots_val_fraction` \+ `test_fraction` < 1"):
        forecasting.Config(sunspots_val_fraction=0.8)
    with pytest.raises(ValueError, match="`sunspots_max_ratio_to_naive` > 0"):
        forecasting.Config(sunspots_max_ratio_to_naive=0.0)
    with pytest.raises(ValueError, match="`sunspots_boosting_leaf_nodes`"):
        forecasting.Config(sunspots_boosting_leaf_nodes=())
    with pytest.raises(ValueError, match="each of `series` in"):
        forecasting.Config(series=("membrane", "lynx"))
    with pytest.raises(ValueError, match="distinct `series`"):
        forecasting.Config(series=())
    with pytest.raises(ValueError, match="`series` names 'path' exactly when `path`"):
        forecasting.Config(path="x.csv")  # a file, but not among the series
    with pytest.raises(ValueError, match="`series` names 'path' exactly when `path`"):
        forecasting.Config(series=("path",))
    config = _harness.parse_overrides(forecasting.QUICK, ["--series=path", "--path=x.csv"])
    assert config.path == "x.csv" and config.series == ("path",)


def test_smoke_run_writes_results_and_figures(tmp_path):
    result = forecasting.run(SMOKE)
    assert result.name == "forecasting" and result.seeds == SMOKE.seeds
    assert len(result.claims) == 5 and result.held_out  # membrane 2, sunspots 3
    assert [c.name.startswith("sunspots: ") for c in result.claims] == [False] * 2 + [True] * 3
    assert all(math.isfinite(claim.measured) for claim in result.claims)
    assert all(claim.baseline and math.isfinite(claim.baseline_value) for claim in result.claims)
    assert result.metrics["series"] == ["membrane", "sunspots"]
    for name in ("membrane", "sunspots"):
        metrics = result.metrics[name]
        settings = forecasting.series_config(SMOKE, name)
        test = metrics["test"]
        assert test["lstm"]["rmse"].shape == (2,) and np.ndim(test["naive"]["rmse"]) == 0
        assert test["mlp"]["rmse"].shape == (2,) and np.ndim(test["boosting"]["rmse"]) == 0
        assert metrics["boosting"]["chosen"] in settings.boosting_leaf_nodes
        assert metrics["training"]["loss"].shape == (settings.num_steps, 2)
        assert metrics["training"]["val_rmse"].shape == (2, 2)  # steps 2 and 4
        assert metrics["window"] == settings.window
    assert result.metrics["membrane"]["source"] == forecasting.SAMPLE_FILE
    assert result.metrics["sunspots"]["num_values"] == 309
    run_dir = _harness.save(result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["config"] == json.loads(json.dumps(dataclasses.asdict(SMOKE)))
    assert len(record["claims"]) == 5 and record["held_out"]
    assert record["calibration_seeds"] == list(forecasting.CALIBRATION_SEEDS)
    for stem in ("forecast", "training", "sunspots_forecast", "sunspots_training"):
        assert (run_dir / f"{stem}.png").stat().st_size > 0


def test_sunspots_series_and_settings():
    series = forecasting.load_sunspots()
    assert series.shape == (309,) and series.dtype == np.float64  # 1700 ... 2008
    assert series[0] == 5.0 and series[-1] == pytest.approx(2.9) and series.min() >= 0
    settings = forecasting.series_config(forecasting.QUICK, "sunspots")
    assert settings.series == ("sunspots",) and settings.path == ""
    assert (settings.window, settings.horizon, settings.hidden_size) == (11, 1, 8)
    assert settings.max_ratio_to_linear == forecasting.SUNSPOTS_MAX_RATIO_TO_LINEAR
    assert settings.max_ratio_to_nonlinear == forecasting.SUNSPOTS_MAX_RATIO_TO_NONLINEAR
    np.testing.assert_array_equal(forecasting.series_values(settings), series)
    data = forecasting.prepare_data(series, settings)
    assert [len(data[f"y_{part}"]) for part in forecasting.SPLITS] == [190, 35, 51]
    membrane = forecasting.series_config(forecasting.QUICK, "membrane")
    assert membrane == dataclasses.replace(forecasting.QUICK, series=("membrane",))


def test_sunspot_claims_fail_for_persistence_and_pass_for_a_learned_forecast():
    config = forecasting.series_config(forecasting.QUICK, "sunspots")
    naive, linear, boosting = 30.06, 17.48, 16.84  # the measured test RMSEs (Config)

    def claims(lstm):
        return forecasting._claims(
            config,
            _measured(lstm, naive=naive, linear=linear, boosting=boosting, mlp=(24.0,) * 3),
        )

    # The LSTM replaced by persistence (no effect): every claim fails.
    persistence = claims([naive] * 3)
    assert len(persistence) == 3 and not any(c.passed for c in persistence)
    assert [c.baseline for c in persistence] == [
        "naive (last value)",
        "linear AR(11)",
        "gradient boosting",
    ]
    assert all(c.name.startswith("sunspots: ") for c in persistence)
    # Calibration-like forecasts (the AR level or 10% behind it) pass.
    assert all(c.passed for c in claims([linear, 1.1 * linear, 0.95 * linear]))
    # One seed just past the bounded loss to the AR fails that claim; just inside passes.
    for factor, passed in ((1.01, False), (0.99, True)):
        edge = linear * config.max_ratio_to_linear * factor
        assert claims([linear, linear, edge])[1].passed is passed
    # The names say "within" (a bounded loss), not "<=", where the AR wins.
    assert "within 1.3 x the linear AR's" in persistence[1].name
