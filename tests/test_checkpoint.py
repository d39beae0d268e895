"""Tests of jaxrnn.checkpoint: keep-last-k, atomic saves, corrupt and missing checkpoints,
bit-identical resumption through ``fit`` and pretrained (sub-tree) initialisation."""

import pathlib

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

import jaxrnn
from jaxrnn.checkpoint import Checkpointer, CheckpointError, restore_params
from jaxrnn.training import TrainState, array_batches, fit, make_optimizer, make_train_step

B, T, F, H = 8, 5, 3, 4  # batch, time, input features, hidden
NUM_EXAMPLES = 32
NUM_STEPS = 10

# orbax's failed read can leave a tensorstore callback that fires into its closed event
# loop ("RuntimeError: Event loop is closed", reported by pytest as unraisable); harmless.
ORBAX_READ_ERROR_NOISE = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning"
)

ENCODERS = {
    "lstm": lambda: jaxrnn.LSTM(H, name="encoder"),
    # parent=None: a cell built inside a compact method would otherwise be adopted by
    # the enclosing module (as "LSTMCell_0") instead of living under "encoder".
    "rnn_lstm_cell": lambda: jaxrnn.RNN(jaxrnn.LSTMCell(H, parent=None), name="encoder"),
}


class EncoderHead(nn.Module):
    """A recurrent ``encoder`` and a dense ``head`` on its last output: ``(b, t, i) -> (b, o)``."""

    encoder: str = "lstm"
    out_features: int = 1

    @nn.compact
    def __call__(self, x):
        outputs = ENCODERS[self.encoder]()(x)
        if isinstance(outputs, tuple):  # the PyTorch-shaped stacks return (outputs, state)
            outputs = outputs[0]
        return nn.Dense(self.out_features, name="head")(outputs[:, -1])


def _init(model, key, features=F):
    return model.init(key, jnp.zeros((B, T, features)))["params"]


def _tree(scale):
    return {"w": jnp.full((3,), float(scale)), "b": {"x": jnp.arange(4.0) * scale}}


def _snapshot(directory):
    """Every path under ``directory`` with the bytes of the files (None for folders)."""
    directory = pathlib.Path(directory)
    return {
        str(p.relative_to(directory)): p.read_bytes() if p.is_file() else None
        for p in sorted(directory.rglob("*"))
    }


def _corrupt(step_dir):
    """Overwrites the array data files (the ``d/`` folders of orbax's OCDBT store)."""
    files = [p for p in pathlib.Path(step_dir).rglob("*") if p.is_file() and p.parent.name == "d"]
    assert files, f"no array data files under {step_dir}"
    for p in files:
        p.write_bytes(b"not an orbax chunk")
    return files


# ---------------------------------------------------------------------------------------
# Checkpointer: keep-last-k, atomicity, missing and corrupt checkpoints.
# ---------------------------------------------------------------------------------------


def test_keeps_only_the_last_k(tmp_path):
    ckpt = Checkpointer(tmp_path, max_to_keep=2)
    for step in range(1, 6):
        ckpt.save(step, _tree(step))
    assert ckpt.all_steps() == [4, 5]
    assert ckpt.latest_step() == 5
    chex.assert_trees_all_equal(ckpt.restore(_tree(0), step=4), _tree(4))
    chex.assert_trees_all_equal(ckpt.restore(_tree(0)), _tree(5))
    ckpt.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["4", "5"]


def test_max_to_keep_is_validated(tmp_path):
    with pytest.raises(ValueError, match="max_to_keep"):
        Checkpointer(tmp_path, max_to_keep=0)


def test_a_crash_during_a_save_leaves_the_last_complete_checkpoint(tmp_path, monkeypatch):
    ckpt = Checkpointer(tmp_path, max_to_keep=2)
    ckpt.save(1, _tree(1))
    ckpt.save(2, _tree(2))
    before = _snapshot(tmp_path)

    # The arrays of step 3 are written, then the process "dies" before the final rename.
    async def crash(self):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(ocp.path.atomicity.AtomicRenameTemporaryPath, "finalize", crash)
    with pytest.raises(OSError, match="simulated crash"):
        ckpt.save(3, _tree(3))
    monkeypatch.undo()

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["1", "2", "3" + ocp.path.atomicity.TMP_DIR_SUFFIX]
    assert ckpt.latest_step() == 2
    chex.assert_trees_all_equal(ckpt.restore(_tree(0)), _tree(2))
    # The good checkpoints are byte for byte what they were (the older one was not
    # deleted for a save that never completed).
    assert {k: v for k, v in _snapshot(tmp_path).items() if k.split("/")[0] in ("1", "2")} == before
    ckpt.close()

    # A new process sees the same: the half-written step does not exist.
    reopened = Checkpointer(tmp_path, max_to_keep=2)
    assert reopened.all_steps() == [1, 2]
    chex.assert_trees_all_equal(reopened.restore(_tree(0)), _tree(2))
    reopened.save(3, _tree(3))  # saving again replaces the leftover temporary folder
    assert reopened.all_steps() == [2, 3]
    chex.assert_trees_all_equal(reopened.restore(_tree(0)), _tree(3))
    reopened.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2", "3"]


def test_a_leftover_temporary_folder_is_not_a_checkpoint(tmp_path):
    ckpt = Checkpointer(tmp_path)
    ckpt.save(1, _tree(1))
    ckpt.close()
    # What a process killed mid-save leaves: a copy of a step without its commit marker,
    # under orbax's temporary name.
    leftover = tmp_path / ("2" + ocp.path.atomicity.TMP_DIR_SUFFIX)
    leftover.mkdir()
    for p in (tmp_path / "1").rglob("*"):
        target = leftover / p.relative_to(tmp_path / "1")
        if p.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif p.name != "commit_success.txt":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(p.read_bytes())
    reopened = Checkpointer(tmp_path)
    assert reopened.all_steps() == [1]
    assert reopened.latest_step() == 1
    chex.assert_trees_all_equal(reopened.restore(_tree(0)), _tree(1))
    reopened.close()


@ORBAX_READ_ERROR_NOISE
def test_a_corrupt_checkpoint_raises_and_leaves_the_others_untouched(tmp_path):
    ckpt = Checkpointer(tmp_path, max_to_keep=3)
    for step in (1, 2, 3):
        ckpt.save(step, _tree(step))
    _corrupt(tmp_path / "3")
    before = _snapshot(tmp_path)

    with pytest.raises(CheckpointError) as info:
        ckpt.restore(_tree(0))
    message = str(info.value)
    assert "step 3" in message
    assert str(tmp_path) in message
    with pytest.raises(CheckpointError, match="step 3"):
        ckpt.restore_raw()

    # Nothing was deleted, rewritten or added; the older steps still restore.
    assert _snapshot(tmp_path) == before
    assert ckpt.all_steps() == [1, 2, 3]
    chex.assert_trees_all_equal(ckpt.restore(_tree(0), step=2), _tree(2))
    chex.assert_trees_all_equal(ckpt.restore(_tree(0), step=1), _tree(1))
    ckpt.close()


def test_missing_checkpoints_raise(tmp_path):
    ckpt = Checkpointer(tmp_path / "empty")
    with pytest.raises(CheckpointError, match="no checkpoint") as info:
        ckpt.restore(_tree(0))
    assert str(tmp_path / "empty") in str(info.value)
    ckpt.save(1, _tree(1))
    with pytest.raises(CheckpointError, match=r"step 7 .*found \[1\]"):
        ckpt.restore(_tree(0), step=7)
    with pytest.raises(CheckpointError, match=r"step 7 .*found \[1\]"):
        ckpt.restore_raw(step=7)
    ckpt.close()
    with pytest.raises(CheckpointError, match="no checkpoint directory"):
        restore_params(tmp_path / "missing", _tree(0))
    assert not (tmp_path / "missing").exists()  # reading never creates a directory


# ---------------------------------------------------------------------------------------
# fit: resumption, the finished steps kept on an exception, no overwrite on a bad resume.
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run():
    """A tiny regression task, one jitted step, and the uninterrupted reference run."""
    model = EncoderHead()
    kx, ky, kp, ks = jax.random.split(jax.random.key(7), 4)
    data = {
        "x": np.asarray(jax.random.normal(kx, (NUM_EXAMPLES, T, F))),
        "y": np.asarray(jax.random.normal(ky, (NUM_EXAMPLES, 1))),
    }

    def loss_fn(params, batch, rng):
        del rng
        prediction = model.apply({"params": params}, batch["x"])
        return jnp.mean((prediction - batch["y"]) ** 2)

    optimizer = make_optimizer(1e-2)
    initial = TrainState.create(_init(model, kp), optimizer, ks)
    step_fn = make_train_step(loss_fn, optimizer)
    batches = array_batches(data, B, seed=0)
    reference = fit(initial, step_fn, batches, num_steps=NUM_STEPS, progress=False).state
    return {
        "model": model,
        "optimizer": optimizer,
        "initial": initial,
        "step": step_fn,
        "batches": batches,
        "reference": reference,
    }


def _fit(run, num_steps, checkpoint_dir, batches=None, **kwargs):
    return fit(
        run["initial"],
        run["step"],
        run["batches"] if batches is None else batches,
        num_steps=num_steps,
        checkpoint_dir=checkpoint_dir,
        progress=False,
        **kwargs,
    )


def test_resume_from_the_latest_checkpoint_is_bit_identical(run, tmp_path):
    first = _fit(run, 6, tmp_path, checkpoint_every=4)
    assert int(first.state.step) == 6
    ckpt = Checkpointer(tmp_path)
    assert ckpt.all_steps() == [4, 6]
    ckpt.close()
    # `state` is the fresh one: fit takes the checkpoint of step 6 instead.
    resumed = _fit(run, NUM_STEPS, tmp_path, checkpoint_every=4).state
    assert int(resumed.step) == NUM_STEPS
    chex.assert_trees_all_equal(resumed, run["reference"])


def test_fit_saves_the_finished_steps_before_an_exception(run, tmp_path):
    def failing(step):
        if step == 7:
            raise RuntimeError("data source lost")
        return run["batches"](step)

    with pytest.raises(RuntimeError, match="data source lost"):
        _fit(run, NUM_STEPS, tmp_path, batches=failing, checkpoint_every=5)
    ckpt = Checkpointer(tmp_path)
    assert ckpt.all_steps() == [5, 7]  # steps 0..6 finished: 7 steps taken
    assert int(ckpt.restore(run["initial"]).step) == 7
    ckpt.close()

    resumed = _fit(run, NUM_STEPS, tmp_path, checkpoint_every=5).state
    chex.assert_trees_all_equal(resumed, run["reference"])


@ORBAX_READ_ERROR_NOISE
def test_a_fresh_run_refuses_a_directory_holding_another_run(run, tmp_path):
    _fit(run, 6, tmp_path, checkpoint_every=3)
    before = _snapshot(tmp_path)
    with pytest.raises(CheckpointError, match=r"already holds the checkpoints \[3, 6\]"):
        _fit(run, 10, tmp_path, resume=False)
    assert _snapshot(tmp_path) == before


def test_fit_does_not_overwrite_when_the_latest_checkpoint_is_corrupt(run, tmp_path):
    _fit(run, 6, tmp_path, checkpoint_every=3)
    _corrupt(tmp_path / "6")
    before = _snapshot(tmp_path)
    with pytest.raises(CheckpointError, match="step 6"):
        _fit(run, NUM_STEPS, tmp_path, checkpoint_every=3, resume=True)
    assert _snapshot(tmp_path) == before
    ckpt = Checkpointer(tmp_path)
    assert int(ckpt.restore(run["initial"], step=3).step) == 3
    ckpt.close()


# ---------------------------------------------------------------------------------------
# restore_params: pretrained initialisation, whole or a sub-tree.
# ---------------------------------------------------------------------------------------

SAVED_FORMS = {
    "train_state": lambda state: state,
    "variables": lambda state: {"params": state.params},
    "bare_params": lambda state: state.params,
}


@pytest.fixture(params=sorted(ENCODERS))
def pretrained(request, tmp_path):
    """``(model, saved TrainState, fresh params)`` with every saved leaf != the fresh one."""
    model = EncoderHead(encoder=request.param)
    k1, k2, k3 = jax.random.split(jax.random.key(3), 3)
    saved = jax.tree_util.tree_map(lambda p: p + 0.5, _init(model, k1))
    fresh = _init(model, k2)
    leaves = zip(jax.tree_util.tree_leaves(saved), jax.tree_util.tree_leaves(fresh), strict=True)
    for a, b in leaves:
        assert not np.any(np.asarray(a) == np.asarray(b))
    return model, TrainState.create(saved, make_optimizer(1e-3), k3), fresh


def _save(directory, tree, step=1):
    ckpt = Checkpointer(directory)
    ckpt.save(step, tree)
    ckpt.close()


@pytest.mark.parametrize("form", sorted(SAVED_FORMS))
def test_restore_only_the_encoder(pretrained, tmp_path, form):
    _, state, fresh = pretrained
    _save(tmp_path, SAVED_FORMS[form](state))
    restored = restore_params(tmp_path, fresh, subtrees=["encoder"])
    chex.assert_trees_all_equal(restored["encoder"], state.params["encoder"])
    chex.assert_trees_all_equal(restored["head"], fresh["head"])
    chex.assert_trees_all_equal_shapes_and_dtypes(restored, fresh)


@pytest.mark.parametrize("form", sorted(SAVED_FORMS))
def test_restore_the_whole_tree(pretrained, tmp_path, form):
    _, state, fresh = pretrained
    _save(tmp_path, SAVED_FORMS[form](state))
    chex.assert_trees_all_equal(restore_params(tmp_path, fresh), state.params)
    # A variables dict as the target keeps its wrapper.
    chex.assert_trees_all_equal(
        restore_params(tmp_path, {"params": fresh}), {"params": state.params}
    )


def test_restore_from_a_checkpointer_and_a_given_step(pretrained, tmp_path):
    model, state, fresh = pretrained
    ckpt = Checkpointer(tmp_path)
    ckpt.save(1, state)
    ckpt.save(2, state.replace(params=fresh))
    restored = restore_params(ckpt, fresh, subtrees=["/encoder/"], step=1)
    chex.assert_trees_all_equal(restored["encoder"], state.params["encoder"])
    chex.assert_trees_all_equal(restored["head"], fresh["head"])
    assert ckpt.all_steps() == [1, 2]  # a Checkpointer passed in stays open and usable
    ckpt.close()
    # The restored tree runs in the model.
    out = model.apply({"params": restored}, jnp.ones((B, T, F)))
    assert out.shape == (B, 1)


def test_a_new_head_can_differ_in_shape(pretrained, tmp_path):
    model, state, _ = pretrained
    _save(tmp_path, state)
    wider = EncoderHead(encoder=model.encoder, out_features=2)
    fresh = _init(wider, jax.random.key(5))
    restored = restore_params(tmp_path, fresh, subtrees=["encoder"])
    chex.assert_trees_all_equal(restored["encoder"], state.params["encoder"])
    chex.assert_trees_all_equal(restored["head"], fresh["head"])
    with pytest.raises(CheckpointError, match=r"'head/(kernel|bias)'"):
        restore_params(tmp_path, fresh)


def test_a_shape_mismatch_names_the_path_and_both_shapes(tmp_path):
    model = EncoderHead()
    _save(tmp_path, _init(model, jax.random.key(0), features=F))
    fresh = _init(model, jax.random.key(1), features=F + 2)
    pattern = (
        rf"shape mismatch at 'encoder/layer0/cell/kernel': checkpoint \({F}, {4 * H}\), "
        rf"model \({F + 2}, {4 * H}\)"
    )
    with pytest.raises(CheckpointError, match=pattern):
        restore_params(tmp_path, fresh, subtrees=["encoder"])
    # The head alone still fits.
    restored = restore_params(tmp_path, fresh, subtrees=["head"])
    chex.assert_trees_all_equal(restored["encoder"], fresh["encoder"])


def test_missing_paths_raise(pretrained, tmp_path):
    _, state, fresh = pretrained
    _save(tmp_path, {"encoder": state.params["encoder"]})
    with pytest.raises(CheckpointError, match=r"'head/\w+' is not in the checkpoint"):
        restore_params(tmp_path, fresh)
    with pytest.raises(CheckpointError, match=r"path 'decoder' is not in the target.*'encoder'"):
        restore_params(tmp_path, fresh, subtrees=["decoder"])
    restored = restore_params(tmp_path, fresh, subtrees=["encoder"])
    chex.assert_trees_all_equal(restored["encoder"], state.params["encoder"])
