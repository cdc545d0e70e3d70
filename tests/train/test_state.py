"""The optimiser: a schedule over the run's real length, clipping, Adam."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from polyglot_ner import errors
from polyglot_ner.train import state as state_lib


def _config(**overrides):
  config = ml_collections.ConfigDict(dict(
      learning_rate=1e-4, schedule="cosine", warmup_steps=0, final_lr_fraction=0.0,
      b1=0.9, b2=0.999, eps=1e-8, grad_clip_norm=5.0))
  config.update(overrides)
  return config


def test_cosine_spans_the_whole_run_not_1000_steps():
  total = 5000
  schedule = state_lib.make_schedule(_config(), total)
  for step in (0, 1000, 2500, 4000, total):
    expected = 1e-4 * 0.5 * (1 + np.cos(np.pi * step / total))
    np.testing.assert_allclose(schedule(step), expected, rtol=1e-5, atol=1e-12)
  assert schedule(1000) > 0.9e-4  # the paper's code would be at 0 here


def test_warmup_then_cosine_to_the_final_fraction():
  schedule = state_lib.make_schedule(_config(warmup_steps=10, final_lr_fraction=0.1), 110)
  np.testing.assert_allclose([schedule(0), schedule(5), schedule(10)], [0.0, 5e-5, 1e-4], rtol=1e-5)
  np.testing.assert_allclose(schedule(110), 1e-5, rtol=1e-5)


def test_constant_and_unknown_schedules():
  assert float(state_lib.make_schedule(_config(schedule="constant"), 10)(7)) == pytest.approx(1e-4)
  with pytest.raises(errors.UserError, match="config.optimizer.schedule: unknown schedule 'linear'"):
    state_lib.make_schedule(_config(schedule="linear"), 10)


def _two_updates(tx, params, gradients):
  state = state_lib.create_train_state(params, tx, jnp.zeros(2, jnp.uint32))
  for grads in gradients:
    state = state_lib.apply_gradients(state, grads, tx)
  return state


def test_update_is_adam_on_globally_clipped_gradients():
  params = {"a": jnp.zeros(3), "b": jnp.zeros(2)}
  big = {"a": jnp.array([30.0, 0.0, -40.0]), "b": jnp.array([0.0, 0.0])}  # norm 50: clipped to 5
  small = {"a": jnp.array([1.0, 1.0, 1.0]), "b": jnp.array([1.0, -1.0])}  # norm < 5: untouched
  clipped = _two_updates(state_lib.make_optimizer(_config(schedule="constant"), 10), params,
                         [big, small])
  reference = _two_updates(optax.adam(1e-4), params,
                           [jax.tree.map(lambda g: g * 0.1, big), small])
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6), clipped.params,
               reference.params)
  assert int(clipped.step) == 2
  unclipped = _two_updates(
      state_lib.make_optimizer(_config(schedule="constant", grad_clip_norm=0.0), 10), params,
      [big, small])
  np.testing.assert_allclose(unclipped.params["a"], _two_updates(optax.adam(1e-4), params,
                                                                 [big, small]).params["a"])
  assert not np.allclose(unclipped.params["a"], clipped.params["a"])


def test_sgd_momentum_is_tf_momentum_optimizer():
  """accumulation = momentum * accumulation + gradient; parameter -= lr * accumulation."""
  momentum = dict(name="sgd_momentum", momentum=0.9, learning_rate=0.1, schedule="constant")
  config = _config(grad_clip_norm=0.0, **momentum)
  gradients = [{"a": jnp.array([1.0, -2.0])}, {"a": jnp.array([0.5, 0.5])},
               {"a": jnp.array([-1.0, 3.0])}]
  state = _two_updates(state_lib.make_optimizer(config, 10), {"a": jnp.zeros(2)}, gradients)
  accumulation, expected = np.zeros(2), np.zeros(2)
  for grads in gradients:
    accumulation = 0.9 * accumulation + np.asarray(grads["a"])
    expected -= 0.1 * accumulation
  np.testing.assert_allclose(state.params["a"], expected, rtol=1e-6)
  clipped = _two_updates(state_lib.make_optimizer(_config(grad_clip_norm=1.0, **momentum), 10),
                         {"a": jnp.zeros(2)}, gradients[:1])
  np.testing.assert_allclose(clipped.params["a"], -0.1 * np.array([1.0, -2.0]) / np.sqrt(5),
                             rtol=1e-6)


def test_adam_is_the_default_and_an_unknown_optimizer_is_named():
  params, grads = {"a": jnp.zeros(2)}, [{"a": jnp.array([1.0, -2.0])}]
  named = _two_updates(state_lib.make_optimizer(_config(name="adam"), 10), params, grads)
  unnamed = _two_updates(state_lib.make_optimizer(_config(), 10), params, grads)
  np.testing.assert_array_equal(named.params["a"], unnamed.params["a"])
  with pytest.raises(errors.UserError, match="config.optimizer.name: unknown optimizer 'lamb'"):
    state_lib.make_optimizer(_config(name="lamb"), 10)
