"""Multi-process training: two processes on 127.0.0.1 (jaxrnn.training.fit, jaxrnn._peers,
jaxrnn.parallel, jaxrnn.checkpoint across topologies).

Each run launches ``multiprocess_worker.py`` twice (process 0 hosts the coordinator on a
free port; 2 virtual CPU devices each, gloo collectives) under ``timeout -k``, so that a
hang fails the test instead of holding CI. The reference is one process with 4 devices:
the same mesh size, the same global batches.

``JAXRNN_KILL_TRIALS`` (default 1) sets how many kill -9 trials
``test_kill_9_loses_no_finished_checkpoint`` runs per victim.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import flax.traverse_util
import numpy as np
import pytest
from conftest import tolerance

from jaxrnn.checkpoint import Checkpointer, restore_params

WORKER = pathlib.Path(__file__).with_name("multiprocess_worker.py")
LIMIT_S = 150  # per process: startup and compilation take ~5-10 s on a 2-core machine
STEPS, HALF, EVERY = 20, 10, 5
# Time allowed from a failure to the end of both processes: the watch polls every 0.5 s;
# the rest is the processes' teardown on a loaded 2-core machine.
FAIL_WITHIN_S = 30.0
# kill -9 leaves the survivor to jax's heartbeat check (heartbeat_timeout_seconds=10 in
# the worker), then its teardown.
KILLED_WITHIN_S = 60.0

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or not os.path.exists("/usr/bin/timeout"),
    reason="launches processes under coreutils timeout",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(directory, num_processes=2, **spec):
    """Starts the processes; returns the Popen objects (stdout+stderr in log_<i>.txt)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port() if num_processes > 1 else None
    procs = []
    for i in range(num_processes):
        full = {
            "process_id": i,
            "num_processes": num_processes,
            "devices": 4 // num_processes,
            "directory": str(directory),
            "checkpoint_every": EVERY,
            **spec,
        }
        if port is not None:
            full["port"] = port
        cmd = ["timeout", "-k", "5", str(LIMIT_S), sys.executable, str(WORKER), json.dumps(full)]
        with open(directory / f"log_{i}.txt", "a") as log:  # the child keeps its own copy
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=directory))
    return procs


def wait(procs):
    return [p.wait(timeout=LIMIT_S + 30) for p in procs]


def run(directory, **spec):
    codes = wait(launch(directory, **spec))
    assert codes == [0] * len(codes), logs(directory)
    return codes


def logs(directory) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(directory.glob("log_*.txt"))
    )


def params(directory, process=0) -> dict:
    with np.load(directory / f"params_{process}.npz") as f:
        return dict(f)


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One process, 4 devices, STEPS steps; and two processes, uninterrupted."""
    one = tmp_path_factory.mktemp("one_process")
    two = tmp_path_factory.mktemp("two_processes")
    run(one, num_processes=1, num_steps=STEPS)
    run(two, num_steps=STEPS)
    return params(one), params(two), two


def test_two_processes_train_like_one(reference):
    one, two, directory = reference
    assert max_diff(two, params(directory, 1)) == 0.0  # both processes hold the same
    diff = max_diff(one, two)
    print(f"two processes vs one: max |diff| = {diff:.2e}")
    assert diff <= tolerance("float32")["atol"]
    # Process 0 alone writes the metrics: one row per step.
    rows = [json.loads(line) for line in (directory / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))


def test_resume_is_bit_identical_and_restores_in_one_process(reference, tmp_path):
    _, two, _ = reference
    run(tmp_path, num_steps=HALF)
    run(tmp_path, num_steps=STEPS)
    assert max_diff(params(tmp_path), two) == 0.0
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").open()]
    assert steps == list(range(1, STEPS + 1))
    # The two-process checkpoint, read whole by this one process.
    saved = flax.traverse_util.flatten_dict(
        Checkpointer(tmp_path / "ckpt").restore_raw()["params"], sep="/"
    )
    assert max_diff(saved, two) == 0.0
    zeros = {k: np.zeros_like(v) for k, v in two.items()}
    loaded = restore_params(tmp_path / "ckpt", flax.traverse_util.unflatten_dict(zeros, sep="/"))
    assert max_diff(flax.traverse_util.flatten_dict(loaded, sep="/"), two) == 0.0


@pytest.mark.parametrize("victim", [0, 1])
def test_sigterm_stops_both_at_one_saved_step_and_resume_completes(reference, tmp_path, victim):
    _, two, _ = reference
    procs = launch(tmp_path, num_steps=STEPS, sleep=0.25)
    ckpt = tmp_path / "ckpt"
    deadline = time.monotonic() + LIMIT_S
    while not any(p.name.isdigit() for p in ckpt.glob("*")) and time.monotonic() < deadline:
        time.sleep(0.1)  # training has started once the first checkpoint is there
    os.kill(int(subprocess.check_output(["pgrep", "-P", str(procs[victim].pid)])), signal.SIGTERM)
    codes = wait(procs)
    text = logs(tmp_path)
    assert codes == [1, 1], text
    assert text.count("PreemptedError: fit: stopped at step") == 2, text
    stopped = Checkpointer(ckpt).latest_step()
    assert EVERY <= stopped < STEPS
    run(tmp_path, num_steps=STEPS)
    assert max_diff(params(tmp_path), two) == 0.0


@pytest.mark.parametrize("failing", [0, 1])
def test_a_failure_in_one_process_ends_both_with_the_error(tmp_path, failing):
    codes = wait(launch(tmp_path, num_steps=STEPS, fail_at=7, fail_process=failing))
    ended = time.time()
    text = logs(tmp_path)
    assert codes == [1, 1], text
    failed = (tmp_path / f"log_{failing}.txt").read_text()
    other = (tmp_path / f"log_{1 - failing}.txt").read_text()
    assert f"RuntimeError: injected failure in process {failing}" in failed
    assert f"process {1 - failing} stops because process {failing} of 2 failed at step 7" in other
    assert f"RuntimeError: injected failure in process {failing}" in other
    # The finished checkpoint stays; no collective save was attempted at step 7.
    assert Checkpointer(tmp_path / "ckpt").all_steps() == [EVERY]
    failed_at = float(failed.split("failing at ")[1].split()[0])
    print(f"process {failing} failed: both ended {ended - failed_at:.1f} s later")
    assert ended - failed_at < FAIL_WITHIN_S


@pytest.mark.parametrize("victim", [0, 1])
def test_kill_9_loses_no_finished_checkpoint(reference, tmp_path, victim):
    _, two, _ = reference
    rng = np.random.default_rng(victim)
    for trial in range(int(os.environ.get("JAXRNN_KILL_TRIALS", "1"))):
        directory = tmp_path / f"trial_{trial}"
        procs = launch(directory, num_steps=STEPS, sleep=0.2)
        ckpt = directory / "ckpt"
        deadline = time.monotonic() + LIMIT_S
        while not (ckpt / str(EVERY)).is_dir() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 2.5))  # a random moment: in a step, a save, or between
        finished = Checkpointer(ckpt).all_steps()
        child = int(subprocess.check_output(["pgrep", "-P", str(procs[victim].pid)]))
        os.kill(child, signal.SIGKILL)
        killed = time.monotonic()
        codes = wait(procs)
        survivor_s = time.monotonic() - killed
        print(
            f"trial {trial}: killed process {victim} after checkpoints {finished}; the "
            f"other ended {survivor_s:.1f} s later (rc {codes})"
        )
        assert codes[victim] != 0 and codes[1 - victim] != 0, logs(directory)
        assert survivor_s < KILLED_WITHIN_S
        after = Checkpointer(ckpt).all_steps()
        assert max(after) >= max(finished), (finished, after)  # nothing finished is lost
        run(directory, num_steps=STEPS)
        assert max_diff(params(directory), two) == 0.0


def test_feeding_the_global_batch_in_every_process_is_an_error(tmp_path):
    codes = wait(launch(tmp_path, num_steps=STEPS, global_batch=True))
    text = logs(tmp_path)
    assert codes == [1, 1], text
    assert "has leading sizes [32], expected 16" in text, text


def test_ctrl_c_in_one_process_ends_both(tmp_path):
    procs = launch(tmp_path, num_steps=STEPS, sleep=0.25)
    while not (tmp_path / "ckpt" / str(EVERY)).is_dir():
        time.sleep(0.05)
    os.kill(int(subprocess.check_output(["pgrep", "-P", str(procs[1].pid)])), signal.SIGINT)
    interrupted = time.monotonic()
    codes = wait(procs)
    text = logs(tmp_path)
    assert codes[0] == 1 and codes[1] != 0, text
    assert "KeyboardInterrupt" in (tmp_path / "log_1.txt").read_text(), text
    assert "process 0 stops because process 1 of 2 failed" in text, text
    assert time.monotonic() - interrupted < FAIL_WITHIN_S


def readme_block(fence: str, containing: str = "") -> str:
    text = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split(f"```{fence}\n")[1:]]
    (block,) = [b for b in blocks if containing in b]
    return block


def test_the_readme_multiprocess_commands_run_and_resume(tmp_path):
    script = tmp_path / "train_data_parallel.py"
    script.write_text(readme_block("python train_data_parallel.py"))
    commands = readme_block("bash", "train_data_parallel.py 1 2 127.0.0.1:29500")
    commands = commands.replace("127.0.0.1:29500", f"127.0.0.1:{free_port()}")
    commands = commands.replace("python ", f"timeout -k 5 {LIMIT_S} {sys.executable} ")
    # A bare `wait` returns 0 whatever the jobs did: wait for each and fail with it.
    commands = commands.replace("\nwait", '\nfor job in $(jobs -p); do wait "$job"; done')
    for printed in (1, 0):  # the second run finds step 200 saved and trains nothing
        done = subprocess.run(
            ["bash", "-c", f"set -e\n{commands}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=LIMIT_S + 30,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert done.stdout.count("step 200: loss") == printed, done.stdout  # process 0
    rows = (tmp_path / "runs" / "dp" / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 200
    assert Checkpointer(tmp_path / "runs" / "dp" / "ckpt").latest_step() == 200
