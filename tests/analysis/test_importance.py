"""Importance scores: vmap'd per-example gradients equal an explicit loop, 4 devices equal 1, and
the true Fisher's sampled labels follow the CRF's marginals."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner import kinds
from polyglot_ner.analysis import examples
from polyglot_ner.analysis import importance
from polyglot_ner.data import labels
from polyglot_ner.models import crf
from polyglot_ner.train import step as step_lib

STEPS, FEATURES, TAGS = 4, 3, 3  # the tiny CRF's sizes: those of the tagger's examples


def test_vmapped_estimates_equal_an_explicit_per_example_loop(tagger):
  params, examples = tagger.params(), tagger.examples(13)
  model = importance.Model(params, tagger.loss)
  got = importance.Estimator(model, ("fisher", "taylor", "taylor_abs", "magnitude"))(
      tagger.chunked(examples, 5), progress=False)  # 5 + 5 + 3 rows: padding, a short chunk
  grad = jax.jit(jax.grad(tagger.loss))
  grads = [grad(params, {key: value[i] for key, value in examples.items()}, None)
           for i in range(13)]
  mean = lambda trees: jax.tree.map(lambda *leaves: np.mean(leaves, axis=0), *trees)
  expected = {
      "fisher": mean([jax.tree.map(np.square, g) for g in grads]),
      "taylor": jax.tree.map(lambda g, p: np.abs(g * p), mean(grads), params),
      "taylor_abs": mean([jax.tree.map(lambda g, p: np.abs(g * p), g, params) for g in grads]),
      "magnitude": jax.tree.map(np.abs, params)}
  assert list(got) == list(expected)
  for method in expected:
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
                 got[method], expected[method])


def test_four_devices_equal_one_and_chunking_does_not_matter(tagger):
  assert jax.device_count() == 4
  model = importance.Model(tagger.params(), tagger.loss, tagger.sample)
  data = {"aa": tagger.examples(9, seed=2), "bb": tagger.examples(6, seed=3)}
  methods = ("fisher", "true_fisher", "taylor_abs")
  results = [
      importance.per_language(model, {lang: tagger.chunked(x, size) for lang, x in data.items()},
                              methods, num_samples=3, mesh=step_lib.make_mesh(devices),
                              progress=False)
      for devices, size in ((jax.devices()[:1], 4), (jax.devices(), 8))]
  assert list(results[0]) == ["aa", "bb"] and list(results[0]["aa"]) == list(methods)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), *results)
  # The true Fisher samples labels: it differs from the empirical one on the gold labels.
  assert not np.allclose(results[0]["aa"]["true_fisher"]["output"]["kernel"],
                         results[0]["aa"]["fisher"]["output"]["kernel"])


def crf_params(seed=4):
  keys = jax.random.split(jax.random.key(seed), 2)
  return {"emit": jax.random.normal(keys[0], (FEATURES, TAGS)),
          "transitions": jax.random.normal(keys[1], (TAGS, TAGS)),
          "probe": jnp.zeros((STEPS, TAGS))}


def crf_loss(params, example, rng):
  """The CRF's gold NLL plus a probe: d loss / d probe[t, c] = -[tag t is c], so the probe's
  true Fisher is the frequency of each sampled tag at each position."""
  del rng
  emissions = (example["x"] @ params["emit"])[None]
  nll = -crf.log_likelihood(emissions, example["tags"][None], example["length"][None],
                            params["transitions"])[0]
  probe = jnp.take_along_axis(params["probe"], example["tags"][:, None], axis=1)[:, 0]
  return nll - jnp.sum(jnp.where(jnp.arange(STEPS) < example["length"], probe, 0.0))


def crf_sample(params, example, rng):
  emissions = (example["x"] @ params["emit"])[None]
  tags = crf.sample(rng, emissions, example["length"][None], params["transitions"])[0, 0]
  return {**example, "tags": tags}


def test_true_fisher_samples_tags_with_the_crf_marginals(tagger):
  assert (tagger.STEPS, tagger.FEATURES, tagger.TAGS) == (STEPS, FEATURES, TAGS)
  params, examples = crf_params(), tagger.examples(4, seed=5)
  examples["length"] = np.array([4, 3, 2, 1], np.int32)
  num_samples = 1500
  model = importance.Model(params, crf_loss, crf_sample)
  frequencies = importance.Estimator(model, ("true_fisher",), num_samples=num_samples)(
      [examples], progress=False)["true_fisher"]["probe"]
  emissions = examples["x"] @ np.asarray(params["emit"])
  expected = np.mean(crf.marginals(emissions, examples["length"], params["transitions"]), axis=0)
  draws = num_samples * len(examples["length"])
  tolerance = 5 * np.sqrt(expected * (1 - expected) / draws) + 1e-6
  assert np.all(np.abs(frequencies - expected) <= tolerance), (frequencies, expected)
  assert np.allclose(frequencies.sum(1), np.mean(examples["length"][:, None] > np.arange(STEPS),
                                                 axis=0))


def test_user_errors(tagger):
  model = importance.Model(tagger.params(), tagger.loss)
  with pytest.raises(errors.UserError, match="sampler"):
    importance.Estimator(model, ("true_fisher",))
  with pytest.raises(errors.UserError, match="not among"):
    importance.Estimator(model, ("hessian",))
  with pytest.raises(errors.UserError, match="no examples"):
    importance.Estimator(model)([], progress=False)
  with pytest.raises(errors.UserError, match="leading"):
    importance.Estimator(model)([{"x": np.zeros((2, 1)), "length": np.zeros(3)}], progress=False)


def test_estimators_of_equal_kinds_share_their_program():
  """`examples.model` applies module functions to the kind: equal kinds, one program; a plain
  function (its closure may read anything) never shares."""
  def kind(word_hidden):
    config = ml_collections.ConfigDict(dict(model_kind="byte_crf", model=dict(
        byte_emb_dim=8, byte_hidden=8, word_hidden=word_hidden)))
    return kinds.build(config, labels.LabelMap(["LOC", "PER"]))

  def estimator(k, methods=("fisher",)):
    mesh = step_lib.make_mesh()
    return importance.Estimator(examples.model(k, k.init_params(jax.random.PRNGKey(0), mesh)),
                                methods, mesh=mesh)

  first = estimator(kind(16))
  assert estimator(kind(16))._step is first._step
  assert estimator(kind(32))._step is not first._step
  assert estimator(kind(16), ("true_fisher",))._step is not first._step
  plain = importance.Model(first.model.params, lambda *args: first.model.example_loss(*args))
  assert importance.Estimator(plain)._step is not importance.Estimator(plain)._step
