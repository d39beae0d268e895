"""Shared machinery of the experiments: typed overrides, claims, results and the report.

An experiment is a module with a frozen dataclass ``Config``, the instances ``QUICK`` and
``FULL``, and ``run(config) -> Result``. This module turns ``--key=value`` strings into a
new config (type-checked, unknown keys rejected), writes
``<root>/<name>/<timestamp>/results.json`` with the figures beside it, writes
``<root>/report.md`` and runs the command line of ``python -m experiments``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import importlib
import json
import math
import multiprocessing
import os
import pathlib
import sys
import time
import traceback
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from matplotlib.figure import Figure

RUNS_ROOT_ENV = "JAXRNN_RUNS"  # overrides the default runs root, "runs" in the cwd
_TRUE, _FALSE = ("true", "1"), ("false", "0")


# ---------------------------------------------------------------------------------------
# Config overrides.
# ---------------------------------------------------------------------------------------


def _type_name(kind: Any) -> str:
    return kind.__name__ if isinstance(kind, type) else str(kind)


def _parse_value(key: str, text: str, kind: Any) -> Any:
    """Parses ``text`` as ``kind`` (bool, int, float, str or tuple[X, ...])."""
    if typing.get_origin(kind) is tuple:
        args = typing.get_args(kind)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"--{key}: unsupported field type {kind}; use tuple[X, ...]")
        items = [item.strip() for item in text.split(",")] if text.strip() else []
        return tuple(_parse_value(key, item, args[0]) for item in items)
    if kind is bool:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
    elif kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    elif kind is str:
        return text
    else:
        raise TypeError(f"--{key}: unsupported field type {kind}")
    raise ValueError(f"--{key}: expected {_type_name(kind)}, got {text!r}")


def _matches(value: Any, kind: Any) -> bool:
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        return isinstance(value, tuple) and all(_matches(v, item) for v in value)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_types(config: Any) -> None:
    """Raises ``TypeError`` naming the first field whose value has not its declared type.

    For a config's ``__post_init__``: bool, int, float, str and ``tuple[X, ...]`` fields.
    """
    for name, kind in typing.get_type_hints(type(config)).items():
        value = getattr(config, name)
        if not _matches(value, kind):
            raise TypeError(
                f"{type(config).__name__}: expected `{name}` of type {_type_name(kind)}, "
                f"got {value!r}"
            )


def parse_overrides(config: Any, argv: Sequence[str]) -> Any:
    """Returns ``config`` with ``--key=value`` overrides applied, type-checked.

    Args:
      config: a dataclass instance (frozen or not).
      argv: strings ``--key=value``; ``-`` in a key reads as ``_``. Booleans take
        true/false/1/0, tuples a comma-separated list (empty for ``--key=``).

    Returns:
      A new config (``dataclasses.replace``, so the config's own checks run again).

    Raises:
      ValueError: a malformed argument, an unknown key (the message lists the known
        ones) or a value that does not parse as the field's type.
    """
    hints = typing.get_type_hints(type(config))
    known = [field.name for field in dataclasses.fields(config)]
    changes: dict[str, Any] = {}
    for arg in argv:
        if not arg.startswith("--") or "=" not in arg:
            raise ValueError(f"expected an override of the form --key=value, got {arg!r}")
        key, text = arg[2:].split("=", 1)
        key = key.replace("-", "_")
        if key not in known:
            raise ValueError(f"unknown config key {key!r}; known keys: {', '.join(known)}")
        changes[key] = _parse_value(key, text, hints[key])
    return dataclasses.replace(config, **changes)


# ---------------------------------------------------------------------------------------
# Claims and results.
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Claim:
    """A published statement checked against a number measured here.

    Attributes:
      name: what is claimed, in words.
      measured: the measured value (the worst case over seeds where there are several).
      expected: the threshold, in words, e.g. ``"in [0.5, 2]"``.
      passed: whether ``measured`` meets it.
      baseline: the baseline the claim is stated against, in words ("" for a claim
        about a measured law, e.g. a variance ratio against theory).
      baseline_value: the baseline's figure from the same run, on the same split.
      mean: the mean over seeds of the per-seed statistic whose worst (or best) case is
        ``measured`` (NaN where there is one number).
      interval: a 95% interval of ``mean`` over seeds (Student's t); ``(nan, nan)``
        where there are fewer than two seeds.
      margin: how far ``measured`` lies inside its bound (negative: outside).
    """

    name: str
    measured: float
    expected: str
    passed: bool
    baseline: str = ""
    baseline_value: float = math.nan
    mean: float = math.nan
    interval: tuple[float, float] = (math.nan, math.nan)
    margin: float = math.nan

    @property
    def status(self) -> str:
        """``"PASS"`` or ``"FAIL"``."""
        return "PASS" if self.passed else "FAIL"


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: Student's t interval of the mean of ``values``.

    Seeds are independent runs, so the per-seed values are i.i.d. draws of a statistic;
    with ``n`` of them the interval is ``mean +- t_{n-1} s / sqrt(n)``. Fewer than two
    values give ``(mean, nan, nan)``; a non-finite value gives NaN bounds.
    """
    from scipy import stats  # a dependency of scikit-learn (the experiments extra)

    values = np.asarray(values, np.float64).ravel()
    if values.size == 0:
        raise ValueError("t_interval: expected at least one value, got none")
    mean = float(values.mean())
    if values.size < 2 or not np.all(np.isfinite(values)):
        return mean, math.nan, math.nan
    half = stats.t.ppf(0.5 + confidence / 2, values.size - 1) * values.std(ddof=1)
    half /= math.sqrt(values.size)
    return mean, float(mean - half), float(mean + half)


def _expected(low: float, high: float) -> str:
    if math.isinf(low):
        return f"<= {high:.4g}"
    if math.isinf(high):
        return f">= {low:.4g}"
    return f"in [{low:.4g}, {high:.4g}]"


def _margin(measured: float, low: float, high: float) -> float:
    return float(min(measured - low, high - measured)) if math.isfinite(measured) else -math.inf


def within(name: str, measured: float, low: float = -math.inf, high: float = math.inf) -> Claim:
    """A claim that ``low <= measured <= high`` (NaN fails), with no baseline."""
    measured = float(measured)
    return Claim(
        name,
        measured,
        _expected(low, high),
        bool(low <= measured <= high),
        margin=_margin(measured, low, high),
    )


def _extreme(stat: np.ndarray) -> float:
    """The per-seed statistic farthest from zero (a band claim's worst seed)."""
    return stat[np.argmax(np.abs(stat))]


_REDUCE = {
    "max": np.max,
    "min": np.min,
    "mean": np.mean,
    "median": np.median,
    "extreme": _extreme,
}


def versus(
    name: str,
    values: Sequence[float],
    baseline: str,
    baseline_value: float | Sequence[float],
    *,
    low: float = -math.inf,
    high: float = math.inf,
    reduce: str = "max",
    relative: bool = True,
) -> Claim:
    """A claim about a model's per-seed metric against a baseline from the same run.

    The per-seed statistic is ``values / baseline_value`` (``relative``) or
    ``values - baseline_value``. The claim is that ``reduce`` of it over the seeds lies
    in ``[low, high]``: ``max`` is the worst seed of a lower-is-better metric, ``min``
    the best seed (for a model claimed to stay at the baseline), ``extreme`` the seed
    farthest from zero (every seed within a band ``[-b, b]`` around the baseline), or
    ``mean`` / ``median``. The claim also carries the mean statistic and its 95% t interval.

    Args:
      name: what is claimed.
      values: the model's metric, one per seed.
      baseline: the baseline's name, e.g. ``"constant predictor"``.
      baseline_value: its metric on the same split, a scalar or one per seed.
      low: lower bound on the statistic.
      high: upper bound on the statistic.
      reduce: ``max``, ``min``, ``extreme``, ``mean`` or ``median`` over seeds.
      relative: ratio (True) or difference (False) to the baseline.

    Returns:
      The claim; a NaN or infinite statistic fails it.
    """
    if reduce not in _REDUCE:
        raise ValueError(f"versus: expected `reduce` in {sorted(_REDUCE)}, got {reduce!r}")
    values = np.asarray(values, np.float64).ravel()
    if values.size == 0:
        raise ValueError(f"versus: expected at least one value for {name!r}, got none")
    base = np.broadcast_to(np.asarray(baseline_value, np.float64), values.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = values / base if relative else values - base
    measured = float(_REDUCE[reduce](stat)) if np.all(np.isfinite(stat)) else math.nan
    mean, lo, hi = t_interval(stat)
    kind = "model / baseline" if relative else "model - baseline"
    return Claim(
        name,
        measured,
        f"{reduce} over seeds of {kind} {_expected(low, high)}",
        bool(low <= measured <= high),
        baseline=baseline,
        baseline_value=float(np.mean(base)),
        mean=mean,
        interval=(lo, hi),
        margin=_margin(measured, low, high),
    )


def held_out(seeds: Sequence[int], calibration: Sequence[int]) -> bool:
    """Whether no seed of ``seeds`` is one of the ``calibration`` seeds."""
    return not set(seeds) & set(calibration)


@dataclasses.dataclass
class Result:
    """What ``run(config)`` returns.

    Attributes:
      name: the experiment's name (its folder under the runs root).
      config: the resolved config.
      seeds: the seeds used.
      metrics: JSON-able numbers (numpy arrays allowed).
      claims: the checked claims.
      summary: one paragraph for the report.
      table: a compact text table printed after the run and quoted in the report.
      figures: file stem -> figure, saved as ``<stem>.png`` beside ``results.json``.
      calibration_seeds: the seeds the thresholds were chosen on (the module's
        ``CALIBRATION_SEEDS``); a run on any of them is a calibration run, and the
        report says its claims are not held-out checks.
    """

    name: str
    config: Any
    seeds: tuple[int, ...]
    metrics: dict[str, Any]
    claims: list[Claim]
    summary: str
    table: str = ""
    figures: dict[str, Figure] = dataclasses.field(default_factory=dict)
    calibration_seeds: tuple[int, ...] = ()

    @property
    def held_out(self) -> bool:
        """Whether the run's seeds are disjoint from the calibration seeds."""
        return held_out(self.seeds, self.calibration_seeds)

    @property
    def passed(self) -> bool:
        """Whether every claim passed."""
        return all(claim.passed for claim in self.claims)


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average along axis 0 (shorter windows at the start)."""
    cumulative = np.cumsum(values, axis=0)
    out = cumulative.copy()
    out[window:] = cumulative[window:] - cumulative[:-window]
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return out / counts.reshape(-1, *([1] * (values.ndim - 1)))


def module_main(name: str, module_name: str, argv: Sequence[str] | None = None) -> int:
    """The command line of one experiment module (``python -m experiments.<module>``).

    Args:
      name: the experiment's registered name.
      module_name: the module's ``__name__``.
      argv: the arguments (default ``sys.argv[1:]``).

    Returns:
      The exit status, as ``cli``.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    return cli({name: sys.modules[module_name]}, [name, *argv])


def runs_root(root: str | os.PathLike | None = None) -> pathlib.Path:
    """``root`` if given, else ``$JAXRNN_RUNS``, else ``runs`` in the working directory."""
    return pathlib.Path(root if root is not None else os.environ.get(RUNS_ROOT_ENV, "runs"))


def _to_json(value: Any) -> Any:
    """Plain JSON: arrays as lists, and non-finite floats as "inf", "-inf" or "nan".

    Strict JSON has no Infinity or NaN; a diverged run's loss must still be written.
    """
    if isinstance(value, np.ndarray | jax.Array):
        return _to_json(np.asarray(value).tolist())
    if isinstance(value, np.generic):
        return _to_json(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if dataclasses.is_dataclass(value):
        return _to_json(dataclasses.asdict(value))
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def save(result: Result, root: str | os.PathLike | None = None) -> pathlib.Path:
    """Writes ``results.json`` and the figures to a new ``<root>/<name>/<timestamp>/``."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = runs_root(root) / result.name
    base.mkdir(parents=True, exist_ok=True)
    run_dir, attempt = base / stamp, 0
    while run_dir.exists():  # two runs within a second get -1, -2, ...
        attempt += 1
        run_dir = base / f"{stamp}-{attempt}"
    run_dir.mkdir()
    for stem, figure in result.figures.items():
        figure.savefig(run_dir / f"{stem}.png", dpi=110)  # a bare Figure renders with Agg
    record = {
        "experiment": result.name,
        "timestamp": stamp,
        "config": dataclasses.asdict(result.config),
        "seeds": list(result.seeds),
        "passed": result.passed,
        "calibration_seeds": list(result.calibration_seeds),
        "held_out": result.held_out,
        "claims": [{**dataclasses.asdict(c), "status": c.status} for c in result.claims],
        "metrics": result.metrics,
        "figures": [f"{stem}.png" for stem in result.figures],
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
    }
    (run_dir / "results.json").write_text(json.dumps(_to_json(record), indent=1, allow_nan=False))
    return run_dir


# ---------------------------------------------------------------------------------------
# Report and summary.
# ---------------------------------------------------------------------------------------


def _interval_text(claim: Claim) -> str:
    if math.isnan(claim.mean):
        return ""
    low, high = claim.interval
    if math.isnan(low):
        return f"{claim.mean:.3g}"
    return f"{claim.mean:.3g} [{low:.3g}, {high:.3g}]"


def _baseline_text(claim: Claim) -> str:
    if not claim.baseline:
        return "-"
    return f"{claim.baseline} = {claim.baseline_value:.4g}"


def claims_table(runs: Sequence[Result]) -> str:
    """A plain-text table: experiment | claim | measured | expected | PASS/FAIL."""
    rows = [("experiment", "claim", "measured", "expected", "result")]
    rows += [
        (r.name, c.name, f"{c.measured:.4g}", c.expected, c.status) for r in runs for c in r.claims
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )


def write_report(
    runs: Sequence[tuple[Result, pathlib.Path]], root: str | os.PathLike | None = None
) -> pathlib.Path:
    """Writes ``<root>/report.md``: per experiment its paragraph, figures and claims."""
    root = runs_root(root)
    claims = [claim for result, _ in runs for claim in result.claims]
    lines = [
        "# jaxrnn experiments",
        "",
        f"`python -m experiments`, jax {jax.__version__} on {jax.default_backend()}: "
        f"{sum(c.passed for c in claims)} of {len(claims)} claims pass.",
    ]
    for result, run_dir in runs:
        folder = run_dir.resolve().relative_to(root.resolve()).as_posix()
        lines += [
            "",
            f"## {result.name}: {'PASS' if result.passed else 'FAIL'}",
            "",
            result.summary,
        ]
        lines += ["", f"Results: `{folder}/results.json`."]
        lines += [f"\n![{result.name} {stem}]({folder}/{stem}.png)" for stem in result.figures]
        if result.table:
            lines += ["", "```text", result.table, "```"]
        if not result.held_out:
            lines += [
                "",
                f"Calibration run: seeds {list(result.seeds)} overlap the calibration seeds "
                f"{list(result.calibration_seeds)}, so these claims are not held-out checks.",
            ]
        lines += [
            "",
            "| claim | baseline (same run) | measured | expected | mean [95% CI] | margin "
            "| result |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c.name} | {_baseline_text(c)} | {c.measured:.4g} | {c.expected} "
            f"| {_interval_text(c)} | {c.margin:.3g} | {c.status} |"
            for c in result.claims
        ]
    path = root / "report.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------------------


def _default_jobs() -> int:
    """Two worker processes where the machine has two cores or more, else one."""
    return max(1, min(2, os.cpu_count() or 1))


def _run_in_worker(
    module_name: str, config: Any, root: pathlib.Path, log_path: pathlib.Path
) -> tuple[Result, pathlib.Path, float]:
    """Runs one experiment in a fresh worker process; its output goes to ``log_path``.

    Saves the results and figures there (in the worker, which holds the figures) and
    returns the result without its figures (their stems kept for the report), the run
    folder and the seconds the run took.
    """
    with open(log_path, "w") as log:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log.fileno(), 1)  # the file descriptors, so the progress bars go there too
        os.dup2(log.fileno(), 2)
        start = time.perf_counter()
        result = importlib.import_module(module_name).run(config)
        run_dir = save(result, root)
        seconds = time.perf_counter() - start
        sys.stdout.flush()
        sys.stderr.flush()
    return dataclasses.replace(result, figures=dict.fromkeys(result.figures)), run_dir, seconds


def check_importable(experiments: Mapping[str, types.ModuleType]) -> None:
    """Raises ``TypeError`` unless every experiment is a module a worker can import."""
    for name, module in experiments.items():
        importable = isinstance(module, types.ModuleType)
        if not importable or sys.modules.get(module.__name__) is not module:
            raise TypeError(
                f"--jobs > 1 runs each experiment in a worker process that imports its module; "
                f"expected an importable module for {name!r}, got {type(module).__name__}"
            )


def _run_parallel(
    experiments: Mapping[str, types.ModuleType],
    configs: Mapping[str, Any],
    root: pathlib.Path,
    jobs: int,
) -> list[tuple[Result, pathlib.Path]]:
    """Runs the experiments in ``jobs`` worker processes, one fresh process each.

    The results are the same bits as in one process: every experiment seeds its own
    keys and jax's CPU results do not depend on the load. Each experiment's output is
    written to ``<root>/logs/<name>.log``; its table is printed when it ends, and the
    results come back in the registry's order. The experiments start longest first
    (by their modules' ``SUITE_SECONDS``), which shortens the suite's wall time.
    """
    check_importable(experiments)
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")  # jax does not survive fork
    done: dict[str, tuple[Result, pathlib.Path]] = {}
    with concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=context, max_tasks_per_child=1
    ) as pool:
        # Longest first (each module's SUITE_SECONDS): a long experiment started last
        # would run alone at the end while the other worker idles.
        order = sorted(configs, key=lambda n: -getattr(experiments[n], "SUITE_SECONDS", 0))
        futures = {
            pool.submit(
                _run_in_worker,
                experiments[name].__name__,
                configs[name],
                root,
                logs / f"{name}.log",
            ): name
            for name in order
        }
        print(f"running {len(futures)} experiments in {jobs} processes; logs in {logs}", flush=True)
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            try:
                result, run_dir, seconds = future.result()
            except BaseException:
                print(f"== {name}: failed; its log: {logs / f'{name}.log'}", flush=True)
                for other in futures:
                    other.cancel()
                raise
            status = "PASS" if result.passed else "FAIL"
            print(f"== {name}: {status} in {seconds:.0f} s: {configs[name]}", flush=True)
            print(result.table, f"\nresults: {run_dir}", sep="\n", flush=True)
            done[name] = (result, run_dir)
    return [done[name] for name in configs]


def cli(experiments: Mapping[str, types.ModuleType], argv: Sequence[str]) -> int:
    """The command line of ``python -m experiments``; returns the exit status.

    0: every claim passed; 1: a claim failed; 2: a usage error (unknown experiment or
    config key, wrongly typed value, a ``--runs-root`` that cannot hold results), found
    before anything runs; 3: a run-time error (an experiment raised, e.g. on an
    override of the right type that its code rejects), with the traceback on stderr.
    """
    parser = argparse.ArgumentParser(
        prog="python -m experiments",
        usage="%(prog)s [-h] [--list] [--full] [--runs-root DIR] [--jobs N] [NAME] "
        "[--key=value ...]",
        allow_abbrev=False,
        description="Without NAME: run every experiment's quick config and write "
        "<runs>/report.md. With NAME: run that experiment alone. Exit status 0 when every "
        "claim passes, 1 when a claim fails, 2 on a usage error, 3 on a run-time error.",
        epilog="Overrides: --key=value for any field of the experiment's Config, e.g. "
        "python -m experiments init_variance --depth=30 --seeds=0,1,2",
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help=f"one of: {', '.join(experiments)}")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--full", action="store_true", help="the full config, not the quick one")
    parser.add_argument(
        "--runs-root", metavar="DIR", help=f"results folder (default ${RUNS_ROOT_ENV} or ./runs)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="worker processes for the suite, one experiment each (default: 2 on a machine "
        "with 2 cores or more; 1 runs everything in this process); a single NAME runs here",
    )
    args, overrides = parser.parse_known_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"--jobs: expected a positive integer, got {args.jobs}")
    if args.list:
        for name, module in experiments.items():
            print(f"{name:20s} {(module.__doc__ or '').strip().splitlines()[0]}")
        return 0
    if args.name is not None and args.name not in experiments:
        parser.error(f"unknown experiment {args.name!r}; known: {', '.join(experiments)}")
    if overrides and args.name is None:
        parser.error(f"overrides {overrides} need an experiment NAME")
    # Modules with IN_SUITE = False (the benchmark) run only when named.
    suite = [name for name, module in experiments.items() if getattr(module, "IN_SUITE", True)]
    names = [args.name] if args.name else suite
    configs = {}
    for name in names:
        base = experiments[name].FULL if args.full else experiments[name].QUICK
        try:
            configs[name] = parse_overrides(base, overrides)
        except (ValueError, TypeError) as err:
            parser.error(f"{name}: {err}")
    root = runs_root(args.runs_root)
    blocked = [q for q in (root, *root.parents) if q.exists() and not q.is_dir()]
    if blocked:
        parser.error(f"--runs-root: expected a directory, but {blocked[0]} is a file")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        parser.error(f"--runs-root: cannot create {root}: {err}")
    jobs = 1 if args.name else (args.jobs or _default_jobs())
    if jobs > 1 and len(names) > 1:
        try:
            check_importable({name: experiments[name] for name in configs})
        except TypeError as err:
            parser.error(str(err))
    try:
        return _run_and_report(experiments, configs, names, args, jobs=jobs)
    except Exception:  # an experiment raised: not a claim that failed
        traceback.print_exc()
        print(
            "python -m experiments: run-time error (exit status 3); the traceback is above",
            file=sys.stderr,
        )
        return RUNTIME_ERROR


RUNTIME_ERROR = 3


def _run_and_report(experiments, configs, names, args, jobs) -> int:
    """Runs the experiments of ``configs``; returns 0 (every claim passed) or 1."""
    runs = []
    if jobs > 1 and len(names) > 1:
        names = []  # run below, in the workers
        runs = _run_parallel(
            {name: experiments[name] for name in configs}, configs, runs_root(args.runs_root), jobs
        )
    for name in names:
        print(f"== {name} ({'full' if args.full else 'quick'}): {configs[name]}", flush=True)
        result = experiments[name].run(configs[name])
        run_dir = save(result, args.runs_root)
        print(result.table, f"\nresults: {run_dir}", sep="\n", flush=True)
        runs.append((result, run_dir))
    if args.name is None:
        print(f"report: {write_report(runs, args.runs_root)}")
    print("\n" + claims_table([result for result, _ in runs]))
    return 0 if all(result.passed for result, _ in runs) else 1
