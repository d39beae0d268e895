"""Tests of the experiment harness and of the init_variance experiment (tiny configs)."""

import dataclasses
import json
import math
import os
import pathlib
import subprocess
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import _harness, init_variance

ROOT = pathlib.Path(__file__).resolve().parents[1]

TINY = init_variance.Config(depth=6, width=32, batch=64, seeds=tuple(range(8)))


@dataclasses.dataclass(frozen=True)
class _Config:
    depth: int = 3
    rate: float = 0.1
    verbose: bool = False
    name: str = "x"
    seeds: tuple[int, ...] = (0,)
    labels: tuple[str, ...] = ("a", "b")

    def __post_init__(self):
        _harness.check_types(self)


# ---------------------------------------------------------------------------------------
# parse_overrides and check_types.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "field", "expected"),
    [
        ("--depth=7", "depth", 7),
        ("--rate=3e-4", "rate", 3e-4),
        ("--rate=2", "rate", 2.0),
        ("--verbose=true", "verbose", True),
        ("--verbose=True", "verbose", True),
        ("--verbose=1", "verbose", True),
        ("--verbose=false", "verbose", False),
        ("--verbose=0", "verbose", False),
        ("--name=a=b", "name", "a=b"),
        ("--seeds=0,1, 2", "seeds", (0, 1, 2)),
        ("--seeds=", "seeds", ()),
        ("--labels=tanh,relu", "labels", ("tanh", "relu")),
    ],
)
def test_parse_overrides_types(arg, field, expected):
    config = _harness.parse_overrides(_Config(), [arg])
    assert getattr(config, field) == expected
    assert type(getattr(config, field)) is type(expected)


def test_parse_overrides_keeps_other_fields_and_dashes():
    config = _harness.parse_overrides(_Config(), ["--depth=5", "--rate=0.5"])
    assert config == _Config(depth=5, rate=0.5)
    assert _harness.parse_overrides(_Config(), []) == _Config()


def test_parse_overrides_rejects_unknown_key():
    with pytest.raises(ValueError, match=r"unknown config key 'dept'; known keys: depth, rate"):
        _harness.parse_overrides(_Config(), ["--dept=3"])


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("--depth=abc", r"--depth: expected int, got 'abc'"),
        ("--depth=1.5", r"--depth: expected int, got '1.5'"),
        ("--rate=fast", r"--rate: expected float, got 'fast'"),
        ("--verbose=yes please", r"--verbose: expected bool, got 'yes please'"),
        ("--seeds=0,x", r"--seeds: expected int, got 'x'"),
    ],
)
def test_parse_overrides_rejects_wrong_type(arg, message):
    with pytest.raises(ValueError, match=message):
        _harness.parse_overrides(_Config(), [arg])


@pytest.mark.parametrize("arg", ["depth=3", "--depth", "-d=3"])
def test_parse_overrides_rejects_malformed(arg):
    with pytest.raises(ValueError, match="--key=value"):
        _harness.parse_overrides(_Config(), [arg])


def test_check_types_names_the_field():
    with pytest.raises(TypeError, match=r"expected `depth` of type int, got '3'"):
        _Config(depth="3")
    with pytest.raises(TypeError, match="`seeds`"):
        _Config(seeds=(0, 1.5))
    with pytest.raises(TypeError, match="`depth`"):
        _Config(depth=True)


def test_init_variance_config_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"unknown `initializers` \['xavier'\]; known: .*he"):
        _harness.parse_overrides(init_variance.QUICK, ["--initializers=he,xavier"])
    with pytest.raises(ValueError, match="`nonlinearities`"):
        init_variance.Config(nonlinearities=("gelu",))
    with pytest.raises(ValueError, match="`depth` >= 2"):
        init_variance.Config(depth=1)
    with pytest.raises(ValueError, match="`seeds`"):
        init_variance.Config(seeds=())
    with pytest.raises(ValueError, match="non-empty and distinct"):
        init_variance.Config(initializers=("he", "he"))


# ---------------------------------------------------------------------------------------
# Claims, results and report.
# ---------------------------------------------------------------------------------------


def test_within():
    assert _harness.within("a", 1.0, 0.5, 2.0) == _harness.Claim(
        "a", 1.0, "in [0.5, 2]", True, margin=0.5
    )
    assert not _harness.within("a", 3.0, 0.5, 2.0).passed
    assert _harness.within("a", 3.0, 0.5, 2.0).margin == -1.0
    assert _harness.within("a", math.nan, 0.0, 1.0).margin == -math.inf
    assert _harness.within("a", 1e-30, high=1e-20).expected == "<= 1e-20"
    assert _harness.within("a", 5.0, low=1.0).expected == ">= 1"
    assert not _harness.within("a", math.nan, 0.0, 1.0).passed


def _fake_experiment(passed):
    def run(config):
        claim = _harness.within("value is small", config.depth, high=3 if passed else 0)
        return _harness.Result("fake", config, (0,), {"x": np.arange(3.0)}, [claim], "Fake.")

    return types.SimpleNamespace(__doc__="A fake.", QUICK=_Config(), FULL=_Config(depth=9), run=run)


@pytest.mark.parametrize(("passed", "status"), [(True, 0), (False, 1)])
def test_cli_suite_writes_report_and_exit_status(tmp_path, capsys, passed, status):
    assert (
        _harness.cli({"fake": _fake_experiment(passed)}, ["--runs-root", str(tmp_path)]) == status
    )
    report = (tmp_path / "report.md").read_text()
    assert "## fake: " + ("PASS" if passed else "FAIL") in report
    assert "| value is small | - | 3 |" in report
    (record,) = [json.loads(p.read_text()) for p in tmp_path.glob("fake/*/results.json")]
    assert record["config"] == json.loads(json.dumps(dataclasses.asdict(_Config())))
    assert record["metrics"] == {"x": [0.0, 1.0, 2.0]}
    assert record["claims"][0]["status"] == ("PASS" if passed else "FAIL")
    assert {"jax_version", "backend", "seeds", "timestamp"} <= set(record)
    assert "value is small" in capsys.readouterr().out


_WORKER_MODULE = """
import dataclasses
import os

import numpy as np

from experiments import _harness


@dataclasses.dataclass(frozen=True)
class Config:
    value: float = {value}


QUICK = FULL = Config()


def run(config):
    print("progress of {name}")  # goes to the worker's log, not the parent's output
    claim = _harness.within("value is small", config.value, high=1.0)
    metrics = {{"pid": os.getpid(), "x": np.arange(2.0)}}
    return _harness.Result("{name}", config, (0,), metrics, [claim], "A worker.", table="T {name}")
"""


@pytest.mark.parametrize(("values", "status"), [((0.5, 0.25), 0), ((0.5, 2.0), 1)])
def test_cli_suite_in_worker_processes(tmp_path, monkeypatch, capsys, values, status):
    modules = {}
    for index, value in enumerate(values):
        name = f"_jaxrnn_worker_{tmp_path.name}_{index}"
        (tmp_path / f"{name}.py").write_text(_WORKER_MODULE.format(value=value, name=name))
        modules[name] = name
    monkeypatch.syspath_prepend(str(tmp_path))  # the spawned workers get this sys.path
    registry = {name: __import__(name) for name in modules}
    runs = tmp_path / "runs"
    assert _harness.cli(registry, ["--runs-root", str(runs), "--jobs", "2"]) == status
    out = capsys.readouterr().out
    pids = set()
    for name in registry:
        (record,) = [json.loads(p.read_text()) for p in runs.glob(f"{name}/*/results.json")]
        pids.add(record["metrics"]["pid"])
        assert f"T {name}" in out and f"progress of {name}" not in out
        assert f"progress of {name}" in (runs / "logs" / f"{name}.log").read_text()
    assert os.getpid() not in pids and len(pids) == 2  # one fresh process per experiment
    report = (runs / "report.md").read_text()
    first, second = registry
    assert report.index(f"## {first}") < report.index(f"## {second}")


def test_suite_workers_start_the_longest_experiments_first(tmp_path, monkeypatch):
    # One worker runs the experiments one after another in the order they were started:
    # by SUITE_SECONDS, longest first; the results still come back in the registry's.
    seconds = {"a": 5, "b": 90, "c": 30}
    registry = {}
    for name, cost in seconds.items():
        module = f"_jaxrnn_order_{tmp_path.name}_{name}"
        source = _WORKER_MODULE.format(value=0.5, name=module).replace(
            '"pid": os.getpid()', '"start": __import__("time").time()'
        )
        (tmp_path / f"{module}.py").write_text(source + f"\nSUITE_SECONDS = {cost}\n")
        registry[name] = module
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = {name: __import__(module) for name, module in registry.items()}
    configs = {name: module.QUICK for name, module in registry.items()}
    runs = _harness._run_parallel(registry, configs, tmp_path / "runs", jobs=1)
    assert [result.name for result, _ in runs] == [registry[n].__name__ for n in "abc"]
    starts = {n: result.metrics["start"] for n, (result, _) in zip("abc", runs, strict=True)}
    assert sorted(starts, key=starts.get) == ["b", "c", "a"]


def test_cli_jobs_needs_importable_modules(tmp_path, capsys):
    registry = {"a": _fake_experiment(True), "b": _fake_experiment(True)}
    with pytest.raises(SystemExit) as exit_info:  # a usage error, found before running
        _harness.cli(registry, ["--runs-root", str(tmp_path), "--jobs", "2"])
    assert exit_info.value.code == 2
    assert "importable module for 'a'" in capsys.readouterr().err
    assert _harness.cli(registry, ["--runs-root", str(tmp_path), "--jobs", "1"]) == 0


def test_cli_run_time_errors_exit_3_and_claims_1(tmp_path, capsys):
    def run(config):
        if config.depth > 5:
            raise ValueError(f"depth {config.depth} is too deep for this experiment")
        return _fake_experiment(False).run(config)

    fake = types.SimpleNamespace(__doc__="A fake.", QUICK=_Config(), FULL=_Config(), run=run)
    root = ["--runs-root", str(tmp_path)]
    assert _harness.cli({"fake": fake}, ["fake", "--depth=9", *root]) == 3
    err = capsys.readouterr().err
    assert "ValueError: depth 9 is too deep" in err and "run-time error (exit status 3)" in err
    assert _harness.cli({"fake": fake}, ["fake", "--depth=4", *root]) == 1  # a failed claim


def test_cli_checks_the_runs_root_before_running(tmp_path, capsys):
    taken = tmp_path / "a_file"
    taken.write_text("")

    def run(config):
        raise AssertionError("ran before checking --runs-root")

    fake = types.SimpleNamespace(__doc__="A fake.", QUICK=_Config(), FULL=_Config(), run=run)
    for root in (taken, taken / "below"):
        with pytest.raises(SystemExit) as exit_info:
            _harness.cli({"fake": fake}, ["fake", "--runs-root", str(root)])
        assert exit_info.value.code == 2
        expected = f"--runs-root: expected a directory, but {taken} is a file"
        assert expected in capsys.readouterr().err


def test_cli_single_full_and_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv(_harness.RUNS_ROOT_ENV, str(tmp_path))
    registry = {"fake": _fake_experiment(True)}
    assert _harness.cli(registry, ["fake", "--full"]) == 1  # depth 9 > 3
    assert _harness.cli(registry, ["fake", "--full", "--depth=2"]) == 0
    assert len(list(tmp_path.glob("fake/*/results.json"))) == 2
    assert not (tmp_path / "report.md").exists()  # only the suite writes the report


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope"], "unknown experiment 'nope'; known: fake"),
        (["fake", "--dept=3"], "unknown config key 'dept'"),
        (["--depth=3"], "need an experiment NAME"),
        (["--jobs", "0"], "--jobs: expected a positive integer, got 0"),
    ],
)
def test_cli_usage_errors_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        _harness.cli({"fake": _fake_experiment(True)}, argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_list(capsys):
    assert _harness.cli({"fake": _fake_experiment(True)}, ["--list"]) == 0
    assert "fake" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arg", "message"),
    [("--depth=abc", "--depth: expected int, got 'abc'"), ("--dept=3", "unknown config key")],
)
def test_command_line_rejects_bad_overrides(arg, message, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "experiments", "init_variance", arg, f"--runs-root={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------
# init_variance on a tiny net.
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_result():
    return init_variance.run(TINY)


def test_init_variance_result_structure(tiny_result, tmp_path):
    metrics = tiny_result.metrics
    assert metrics["dtype"] == "float64"
    assert metrics["layers"] == list(range(1, TINY.depth + 1))
    for nl in TINY.nonlinearities:
        for name in TINY.initializers:
            for kind in ("preactivation", "activation", "gradient"):
                values = metrics["log10_second_moment"][nl][name][kind]
                assert values.shape == (len(TINY.seeds), TINY.depth)
                assert np.all(np.isfinite(values))
            ratio = metrics["log2_ratio"][nl][name]
            assert np.all(np.isfinite(ratio["forward"])) and np.isfinite(ratio["forward_pooled"])
    assert len(tiny_result.claims) == 4
    assert all(math.isfinite(claim.measured) for claim in tiny_result.claims)
    run_dir = _harness.save(tiny_result, tmp_path)
    record = json.loads((run_dir / "results.json").read_text())
    assert record["config"]["seeds"] == list(TINY.seeds)
    assert (run_dir / "variance.png").stat().st_size > 0


def test_init_variance_relu_he_and_lecun(tiny_result):
    ratios = tiny_result.metrics["log2_ratio"]["relu"]
    he, lecun = ratios["he"], ratios["lecun"]
    steps = TINY.depth - 1
    # Loose: at width 32 a single network's log2 ratio scatters by ~0.5.
    assert np.all(np.abs(he["forward"]) < 1.5)
    assert abs(he["forward_pooled"]) < 0.75
    assert abs(lecun["forward_pooled"] + steps) < 0.75
    # Exact: the same keys make LeCun = He / sqrt(2), and ReLU is positively homogeneous.
    np.testing.assert_allclose(lecun["forward"], he["forward"] - steps, atol=1e-9)
    np.testing.assert_allclose(lecun["backward"], he["backward"] - steps, atol=1e-9)


def test_init_variance_float64_path():
    before = jax.config.jax_enable_x64
    # normal(0.01) with ReLU shrinks by 32e-4 / 2 per layer: 1e-80 after 30 layers, zero in
    # float32 (smallest subnormal ~1.4e-45), finite in float64.
    config = init_variance.Config(
        depth=30,
        width=32,
        batch=8,
        seeds=(0,),
        nonlinearities=("relu",),
        initializers=("normal_0.01",),
    )
    moments = init_variance.measure(config)["relu", "normal_0.01"]
    assert jax.config.jax_enable_x64 == before  # the context manager, not the global flag
    for values in moments.values():
        assert values.dtype == np.float64
        assert np.all(values > 0) and np.log10(values.min()) < -60
    with jax.enable_x64(True):
        weights = init_variance.draw_weights(jax.random.key(0), "he", 3, 4)
        assert weights.dtype == jnp.float64


def test_init_variance_skips_claims_it_cannot_check():
    config = dataclasses.replace(TINY, seeds=(0,), nonlinearities=("relu",), initializers=("he",))
    result = init_variance.run(config)
    assert len(result.claims) == 2
    assert all(claim.name.startswith("ReLU + He") for claim in result.claims)
    assert "not checked (not in this config): relu + lecun, tanh + standard" in result.summary


def test_init_variance_claims_fail_for_the_wrong_initialiser(tiny_result):
    # The absent effect: He's ratios replaced by LeCun's (halving per layer) and the
    # standard tanh net's by He's (no collapse): every claim against theory fails.
    ratios = {key: value for key, value in tiny_result.metrics["log2_ratio"]["relu"].items()}
    wrong = {
        ("relu", "he"): ratios["lecun"],
        ("relu", "lecun"): ratios["he"],
        ("tanh", "standard"): tiny_result.metrics["log2_ratio"]["tanh"]["he"],
    }
    claims = init_variance._claims(TINY, wrong)
    assert len(claims) == 4 and not any(claim.passed for claim in claims)
    right = init_variance._claims(
        TINY, {key: tiny_result.metrics["log2_ratio"][key[0]][key[1]] for key in wrong}
    )
    assert all(claim.baseline.startswith(("theory", "linear-regime theory")) for claim in right)
    np.testing.assert_allclose(right[3].baseline_value, -(TINY.depth - 1) * np.log2(3.0))
    assert tiny_result.calibration_seeds == init_variance.CALIBRATION_SEEDS
    assert _harness.held_out(init_variance.QUICK.seeds, init_variance.CALIBRATION_SEEDS)
    assert _harness.held_out(init_variance.FULL.seeds, init_variance.CALIBRATION_SEEDS)


# ---------------------------------------------------------------------------------------
# versus, t_interval, held_out, the report's columns and the shared trainer.
# ---------------------------------------------------------------------------------------


def test_t_interval_against_a_hand_computation():
    # mean 2, sd 1 (ddof 1), n = 3: half-width t_{0.975, 2} / sqrt(3) = 4.302653 / 1.732051.
    mean, low, high = _harness.t_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)
    np.testing.assert_allclose([mean, low, high], [2.0, 2.0 - half, 2.0 + half], rtol=1e-9)
    assert math.isnan(_harness.t_interval([1.0])[1])
    assert math.isnan(_harness.t_interval([1.0, math.nan])[2])
    with pytest.raises(ValueError, match="at least one value"):
        _harness.t_interval([])


def test_versus_statistic_interval_and_bounds():
    claim = _harness.versus("m", [1.0, 2.0, 3.0], "b", 2.0, high=2.0)  # ratios .5, 1, 1.5
    assert claim.passed and claim.measured == 1.5 and claim.baseline == "b"
    assert claim.baseline_value == 2.0 and claim.mean == 1.0
    half = 4.302652729911275 * 0.5 / math.sqrt(3)
    np.testing.assert_allclose(claim.interval, (1.0 - half, 1.0 + half), rtol=1e-9)
    np.testing.assert_allclose(claim.margin, 0.5)
    assert claim.expected == "max over seeds of model / baseline <= 2"
    # Per-seed baselines, a difference, the best seed.
    claim = _harness.versus("m", [3.0, 5.0], "b", [1.0, 1.0], low=2.5, reduce="min", relative=False)
    assert claim.measured == 2.0 and not claim.passed and claim.margin == -0.5
    assert _harness.versus("m", [1.0, 3.0], "b", 1.0, reduce="median").measured == 2.0
    with pytest.raises(ValueError, match="reduce"):
        _harness.versus("m", [1.0], "b", 1.0, reduce="worst")


def test_versus_fails_for_a_nan_or_a_zero_baseline():
    claim = _harness.versus("m", [1.0, math.nan], "b", 1.0, high=10.0)
    assert not claim.passed and math.isnan(claim.measured) and claim.margin == -math.inf
    assert not _harness.versus("m", [1.0], "b", 0.0, high=10.0).passed  # 1 / 0 = inf


def test_held_out():
    assert _harness.held_out((100, 101), (0, 1, 2))
    assert not _harness.held_out((2, 100), (0, 1, 2))
    assert _harness.held_out((0,), ())


def test_report_has_baseline_interval_and_margin_columns(tmp_path):
    claims = [
        _harness.versus("beats the baseline", [0.5, 0.6], "constant predictor", 1.0, high=0.9),
        _harness.within("a law", 1.0, 0.5, 2.0),
    ]
    result = _harness.Result("fake", _Config(), (0,), {}, claims, "Fake.", calibration_seeds=(0,))
    run_dir = _harness.save(result, tmp_path)
    report = _harness.write_report([(result, run_dir)], tmp_path).read_text()
    assert "| claim | baseline (same run) | measured | expected | mean [95% CI] | margin " in report
    row = next(line for line in report.splitlines() if line.startswith("| beats the baseline"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1] == "constant predictor = 1" and cells[2] == "0.6"
    assert cells[4].startswith("0.55 [") and cells[5] == "0.3" and cells[6] == "PASS"
    row = next(line for line in report.splitlines() if line.startswith("| a law"))
    assert [cell.strip() for cell in row.strip("|").split("|")][1] == "-"
    assert "Calibration run: seeds [0] overlap the calibration seeds [0]" in report
    record = json.loads((run_dir / "results.json").read_text())
    assert record["held_out"] is False and record["calibration_seeds"] == [0]


def test_stack_batches_shape_and_per_seed_order():
    from experiments import _trainer
    from jaxrnn import training

    arrays = {"x": np.arange(10.0).reshape(10, 1), "y": np.arange(10)}
    batch = _trainer.stack_batches(arrays, 4, (3, 7))
    first = batch(0)
    assert first["x"].shape == (2, 4, 1) and first["y"].shape == (2, 4)
    for row, seed in enumerate((3, 7)):
        alone = training.array_batches(arrays, 4, seed)(0)
        np.testing.assert_array_equal(first["y"][row], alone["y"])
    np.testing.assert_array_equal(first["x"][..., 0], first["y"])  # rows stay paired
    np.testing.assert_array_equal(batch(1)["y"], batch(1)["y"])


def test_train_seeds_on_a_tiny_linear_model():
    import optax

    from experiments import _trainer

    x = np.linspace(-1.0, 1.0, 16, dtype=np.float32).reshape(16, 1)
    arrays = {"x": x, "y": 3.0 * x}
    seeds = (0, 1, 2)

    def loss_fn(params, batch, rng):
        del rng
        return jnp.mean((batch["x"] * params["w"] - batch["y"]) ** 2)

    runs = _trainer.train_seeds(
        lambda key: {"w": jax.random.normal(key, ())},
        loss_fn,
        optax.sgd(0.5),
        _trainer.stack_batches(arrays, 8, seeds),
        _trainer.seed_keys(seeds),
        num_steps=30,
        eval_fn=lambda params: {"w": params["w"]},
        log_every=5,
        progress=False,
    )
    assert runs.loss.shape == (6, 3) and runs.steps.tolist() == [5, 10, 15, 20, 25, 30]
    assert np.all(runs.loss[-1] < runs.loss[0])
    np.testing.assert_allclose(runs.final["w"], 3.0, atol=1e-2)
    assert runs.final["w"].shape == (3,) and runs.seconds > 0
    # Different seeds start differently; the same seed reproduces.
    keys = _trainer.seed_keys(seeds)
    assert not np.array_equal(jax.random.key_data(keys[0]), jax.random.key_data(keys[1]))
    again = _trainer.seed_keys((0,), 5)
    assert not np.array_equal(jax.random.key_data(again[0]), jax.random.key_data(keys[0]))


def test_versus_extreme_takes_the_seed_farthest_from_the_baseline():
    claim = _harness.versus(
        "band", [0.9, 1.3, 0.8], "theory", 1.0, low=-0.2, high=0.2, reduce="extreme", relative=False
    )
    np.testing.assert_allclose(claim.measured, 0.3)
    assert not claim.passed and claim.margin < 0
    inside = _harness.versus(
        "band",
        [0.9, 1.05, 0.95],
        "theory",
        1.0,
        low=-0.2,
        high=0.2,
        reduce="extreme",
        relative=False,
    )
    np.testing.assert_allclose(inside.measured, -0.1)
    assert inside.passed
