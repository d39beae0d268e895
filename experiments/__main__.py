"""``python -m experiments [NAME] [--full] [--key=value ...]``; see ``--help``."""

import os
import sys

# XLA's CPU runtime was seen to deadlock here (main thread in BlockUntilReady, workers
# idle). The hang that was caught in the act (char_rnn, every seed's model initialised
# under jax.vmap) was jaxlib's batched LAPACK kernels, which jaxrnn._lapack now keeps
# unbatched; single-threaded Eigen ops stay as a guard against the thread-pool
# reentrancy reported upstream for other ops, and cost the suite no measurable time.
# The benchmark keeps XLA's defaults, the setting users run with.
if "benchmark" not in sys.argv[1:] and "jax" not in sys.modules:
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
    ).strip()

from experiments import (
    _harness,
    adding,
    benchmark,
    char_rnn,
    clipping,
    copy_task,
    forecasting,
    forget_bias,
    gradient_flow,
    hyperparameter_search,
    init_distribution,
    init_variance,
    japanese_vowels,
    layer_norm_scale,
    mnist1d,
    near_orthogonal,
    overfitting,
    pixel_mnist,
    pretrained,
    seq2seq_attention,
    sequential_digits,
    symmetry,
)

# The registry: adding an experiment is one line here.
EXPERIMENTS = {
    "init_variance": init_variance,
    "init_distribution": init_distribution,
    "near_orthogonal": near_orthogonal,
    "symmetry": symmetry,
    "gradient_flow": gradient_flow,
    "clipping": clipping,
    "adding": adding,
    "copy": copy_task,
    "forget_bias": forget_bias,
    "layer_norm_scale": layer_norm_scale,
    "sequential_digits": sequential_digits,
    "pixel_mnist": pixel_mnist,
    "mnist1d": mnist1d,
    "japanese_vowels": japanese_vowels,
    "hyperparameter_search": hyperparameter_search,
    "pretrained": pretrained,
    "overfitting": overfitting,
    "forecasting": forecasting,
    "char_rnn": char_rnn,
    "seq2seq_attention": seq2seq_attention,
    "benchmark": benchmark,  # IN_SUITE = False: runs only when named
}


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 pass, 1 claim failed, 2 usage, 3 error)."""
    return _harness.cli(EXPERIMENTS, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
