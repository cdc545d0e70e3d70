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


def _train(config, params, gradients, total_steps=10):
  """The state after `gradients`, the first updates of a run of `total_steps` steps, each at the
  rate the training loop gives it."""
  tx = state_lib.make_optimizer(config)
  state = state_lib.create_train_state(params, tx, jnp.zeros(2, jnp.uint32))
  for rate, grads in zip(state_lib.learning_rates(config, total_steps), gradients):
    state = state_lib.apply_gradients(state, grads, tx, rate)
  return state


def _optax(tx, params, gradients):
  """(params, optimiser state) after `gradients` applied by the optax optimiser `tx`."""
  opt_state = tx.init(params)
  for grads in gradients:
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
  return params, opt_state


def test_update_is_adam_on_globally_clipped_gradients():
  params = {"a": jnp.zeros(3), "b": jnp.zeros(2)}
  big = {"a": jnp.array([30.0, 0.0, -40.0]), "b": jnp.array([0.0, 0.0])}  # norm 50: clipped to 5
  small = {"a": jnp.array([1.0, 1.0, 1.0]), "b": jnp.array([1.0, -1.0])}  # norm < 5: untouched
  clipped = _train(_config(schedule="constant"), params, [big, small])
  reference, _ = _optax(optax.adam(1e-4), params, [jax.tree.map(lambda g: g * 0.1, big), small])
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6), clipped.params,
               reference)
  assert int(clipped.step) == 2
  unclipped = _train(_config(schedule="constant", grad_clip_norm=0.0), params, [big, small])
  np.testing.assert_allclose(unclipped.params["a"],
                             _optax(optax.adam(1e-4), params, [big, small])[0]["a"])
  assert not np.allclose(unclipped.params["a"], clipped.params["a"])


def test_sgd_momentum_is_tf_momentum_optimizer():
  """accumulation = momentum * accumulation + gradient; parameter -= lr * accumulation."""
  momentum = dict(name="sgd_momentum", momentum=0.9, learning_rate=0.1, schedule="constant")
  config = _config(grad_clip_norm=0.0, **momentum)
  gradients = [{"a": jnp.array([1.0, -2.0])}, {"a": jnp.array([0.5, 0.5])},
               {"a": jnp.array([-1.0, 3.0])}]
  state = _train(config, {"a": jnp.zeros(2)}, gradients)
  accumulation, expected = np.zeros(2), np.zeros(2)
  for grads in gradients:
    accumulation = 0.9 * accumulation + np.asarray(grads["a"])
    expected -= 0.1 * accumulation
  np.testing.assert_allclose(state.params["a"], expected, rtol=1e-6)
  clipped = _train(_config(grad_clip_norm=1.0, **momentum), {"a": jnp.zeros(2)}, gradients[:1])
  np.testing.assert_allclose(clipped.params["a"], -0.1 * np.array([1.0, -2.0]) / np.sqrt(5),
                             rtol=1e-6)


@pytest.mark.parametrize("optimizer", [
    dict(name="adam"), dict(name="sgd_momentum", momentum=0.9),
    dict(name="sgd_momentum", momentum=0.9, grad_clip_norm=0.0)])
def test_the_hosts_rates_update_as_optax_on_the_schedule(optimizer):
  """The host's rate of every step gives the parameters and the optimiser state (same tree, so
  checkpoints resume) of optax's optimiser on the schedule itself, here a warmup and a cosine."""
  config = _config(learning_rate=0.1, warmup_steps=2, final_lr_fraction=0.1, **optimizer)
  params = {"a": jnp.zeros(2), "b": jnp.ones(3)}
  gradients = [{"a": jnp.array([1.0, -2.0]) * step, "b": jnp.array([3.0, 0.5, -1.0]) / step}
               for step in range(1, 7)]
  state = _train(config, params, gradients, total_steps=6)
  schedule = state_lib.make_schedule(config, 6)
  tx = (optax.adam(schedule, b1=config.b1, b2=config.b2, eps=config.eps)
        if config.name == "adam" else optax.sgd(schedule, momentum=config.momentum))
  if config.grad_clip_norm:
    tx = optax.chain(optax.clip_by_global_norm(config.grad_clip_norm), tx)
  reference, opt_state = _optax(tx, params, gradients)
  assert jax.tree.structure(state.opt_state) == jax.tree.structure(opt_state)
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6),
               (state.params, state.opt_state), (reference, opt_state))


def test_adam_is_the_default_and_an_unknown_optimizer_is_named():
  params, grads = {"a": jnp.zeros(2)}, [{"a": jnp.array([1.0, -2.0])}]
  named = _train(_config(name="adam"), params, grads)
  unnamed = _train(_config(), params, grads)
  np.testing.assert_array_equal(named.params["a"], unnamed.params["a"])
  with pytest.raises(errors.UserError, match="config.optimizer.name: unknown optimizer 'lamb'"):
    state_lib.make_optimizer(_config(name="lamb"))
