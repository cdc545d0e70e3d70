"""The sharded train and predict steps: 1 device == 4 devices == an unsharded computation."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner import kinds
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.kinds.byte_crf import batches as word_batches
from polyglot_ner.train import state as state_lib
from polyglot_ner.train import step as step_lib

OPTIMIZER = ml_collections.ConfigDict(dict(
    learning_rate=1e-2, schedule="cosine", warmup_steps=0, final_lr_fraction=0.0,
    b1=0.9, b2=0.999, eps=1e-8, grad_clip_norm=5.0))


@pytest.fixture(scope="module")
def setup():
  sentences = corpora.load_split("demo/aa", "train")[:6]  # 6 real rows + 2 empty rows
  label_map = labels.LabelMap.from_sentences(sentences)
  # The same global batch laid out for 1 and for 4 devices (a word table per device).
  batches = {shards: next(iter(word_batches.WordTrainBatches(
      {"demo/aa": sentences}, label_map, batch_size=8, length_buckets=(16,), byte_buckets=(16,),
      max_word_bytes=16, num_shards=shards))) for shards in (1, 4)}
  assert list(batches[1]["lengths"] > 0).count(True) == 6
  assert np.max(batches[4]["word_ids"]) < len(batches[4]["word_bytes"]) // 4  # ids are per shard
  config = ml_collections.ConfigDict(dict(
      model_kind="byte_crf", model=dict(byte_emb_dim=8, byte_hidden=8, word_hidden=16)))
  model = kinds.build(config, label_map)
  tx = state_lib.make_optimizer(OPTIMIZER)
  learning_rate = state_lib.learning_rates(OPTIMIZER, total_steps=10)[0]
  mesh = step_lib.make_mesh()
  params = model.init_params(jax.random.PRNGKey(0), mesh)
  state = jax.device_get(state_lib.create_train_state(params, tx, jax.random.PRNGKey(1)))
  return model, (tx, learning_rate), state, batches


def _run(setup, devices, dropout=False):
  model, (tx, learning_rate), state, batches = setup
  mesh = step_lib.make_mesh(devices)
  train_step = step_lib.make_train_step(model, tx, mesh, dropout=dropout)
  new_state, metrics = train_step(step_lib.replicate(state, mesh),
                                  step_lib.shard_batch(batches[len(devices)], mesh), learning_rate)
  return jax.device_get(new_state), jax.device_get(metrics)


def _unsharded(setup):
  """The same step without a mesh: mean NLL over the real rows, plain grad, one update."""
  model, (tx, learning_rate), state, batches = setup
  batch = batches[1]
  real = batch["lengths"] > 0

  def loss_fn(params):
    log_likelihood = model.module.apply({"params": params}, batch, train=False)
    return -jnp.sum(jnp.where(real, log_likelihood, 0.0)) / real.sum()

  loss, grads = jax.jit(jax.value_and_grad(loss_fn))(state.params)
  new_state = jax.jit(state_lib.apply_gradients, static_argnums=2)(state, grads, tx,
                                                                   learning_rate)
  return jax.device_get(new_state), float(loss)


def _assert_close(a, b, atol):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol,
                                                       rtol=atol), a, b)


def test_one_and_four_devices_give_the_same_loss_and_parameters(setup):
  assert jax.device_count() == 4
  state_1, metrics_1 = _run(setup, jax.devices()[:1])
  state_4, metrics_4 = _run(setup, jax.devices())
  np.testing.assert_allclose(metrics_1["loss"], metrics_4["loss"], rtol=1e-5)
  _assert_close(state_1.params, state_4.params, 1e-5)
  assert int(state_4.step) == 1
  # Both equal the unsharded computation (padding rows excluded from the mean).
  reference_state, reference_loss = _unsharded(setup)
  np.testing.assert_allclose(metrics_4["loss"], reference_loss, rtol=1e-5)
  _assert_close(state_4.params, reference_state.params, 1e-5)
  # The step moved the parameters.
  assert not np.allclose(state_4.params["output"]["kernel"], setup[2].params["output"]["kernel"])


def test_dropout_is_active_and_reproducible_from_the_state(setup):
  _, deterministic = _run(setup, jax.devices())
  state_a, with_dropout = _run(setup, jax.devices(), dropout=True)
  state_b, again = _run(setup, jax.devices(), dropout=True)
  assert with_dropout["loss"] != deterministic["loss"]
  assert with_dropout["loss"] == again["loss"]
  jax.tree.map(np.testing.assert_array_equal, state_a.params, state_b.params)


def test_predict_step_is_the_same_on_one_and_four_devices(setup):
  model, _, state, batches = setup
  tags = []
  for devices in (jax.devices()[:1], jax.devices()):
    mesh = step_lib.make_mesh(devices)
    predict = step_lib.make_predict_step(model.predict, mesh)
    tags.append(np.asarray(predict(step_lib.replicate(state.params, mesh),
                                   step_lib.shard_batch(batches[len(devices)], mesh))))
  expected, _ = jax.jit(lambda p, b: model.module.apply({"params": p}, b, method="decode"))(
      state.params, batches[1])
  np.testing.assert_array_equal(tags[0], tags[1])
  np.testing.assert_array_equal(tags[1], np.asarray(expected))


def test_a_batch_not_divisible_by_the_devices_is_an_error_that_says_so(setup):
  batch = {key: value[:6] for key, value in setup[3][1].items()}
  with pytest.raises(errors.UserError, match=r"global batch size 6 is not divisible by the 4 devices"):
    step_lib.shard_batch(batch, step_lib.make_mesh())


def test_the_batch_counts_and_process_max_are_computed_on_the_devices(setup):
  mesh = step_lib.make_mesh()
  batch = setup[3][4]
  counts = step_lib.make_batch_counts(mesh, 2)(step_lib.shard_part(batch, mesh))
  np.testing.assert_array_equal(counts, [6, 0, np.sum(batch["lengths"])])
  # One process: its own values.
  np.testing.assert_array_equal(step_lib.make_process_max(mesh)(np.array([3, 5]))(), [3, 5])
