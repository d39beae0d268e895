"""experiments.gpu, the GPU check: it refuses a CPU, and its parts run on one."""

import jax
import pytest

from experiments import gpu


def test_refuses_to_run_without_a_gpu(tmp_path, capsys):
    if jax.default_backend() == "gpu":
        pytest.skip("a GPU is here: the check would run")
    assert gpu.main(["--out", str(tmp_path), "--no-suite"]) == 2
    assert "needs a GPU" in capsys.readouterr().out
    assert not list(tmp_path.iterdir())


def test_cudnn_comparison_and_table_run_on_any_backend():
    # On a CPU both sides are the scan: equal, and the comparison code runs.
    result = gpu.cudnn_equals_scan()
    assert result["equal"] and result["max_abs_difference"] < 1e-4
    speeds = {
        "lstm/train": {"jaxrnn_ms": 1.5, "ratios": {"torch_cudnn": {"ratio": 0.8,
                       "round_min": 0.7, "round_max": 0.9}}},
    }  # fmt: skip
    table = gpu._table(speeds)
    assert "| lstm/train | 1.50 | 0.80 (0.70-0.90) |" in table
