"""A tiny model kind for the analysis tests: a 2-layer MLP tagger over random feature vectors."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

STEPS, FEATURES, TAGS = 4, 3, 3


def params(seed=0):
  """Per position: features -> 5 hidden (tanh) -> tag logits."""
  keys = jax.random.split(jax.random.key(seed), 4)
  return {"hidden": {"kernel": jax.random.normal(keys[0], (FEATURES, 5)),
                     "bias": 0.1 * jax.random.normal(keys[1], (5,))},
          "output": {"kernel": jax.random.normal(keys[2], (5, TAGS)),
                     "bias": 0.1 * jax.random.normal(keys[3], (TAGS,))}}


def logits(p, x):
  hidden = jnp.tanh(x @ p["hidden"]["kernel"] + p["hidden"]["bias"])
  return hidden @ p["output"]["kernel"] + p["output"]["bias"]


def loss(p, example, rng):
  """Negative log-likelihood of one example's gold tags over its first `length` positions."""
  del rng
  log_probs = jax.nn.log_softmax(logits(p, example["x"]))
  gold = jnp.take_along_axis(log_probs, example["tags"][:, None], axis=1)[:, 0]
  return -jnp.sum(jnp.where(jnp.arange(STEPS) < example["length"], gold, 0.0))


def sample(p, example, rng):
  """The example with tags drawn from the tagger's own distribution."""
  tags = jax.random.categorical(rng, logits(p, example["x"]))
  return {**example, "tags": tags.astype(jnp.int32)}


def examples(n, seed=1):
  rng = np.random.default_rng(seed)
  return {"x": rng.normal(size=(n, STEPS, FEATURES)).astype(np.float32),
          "tags": rng.integers(0, TAGS, size=(n, STEPS)).astype(np.int32),
          "length": rng.integers(1, STEPS + 1, size=n).astype(np.int32)}


def chunked(data, size):
  n = len(data["length"])
  return [{key: value[i:i + size] for key, value in data.items()} for i in range(0, n, size)]


@pytest.fixture(scope="session")
def tagger():
  """The tiny tagger's functions: params, logits, loss, sample, examples, chunked."""
  return types.SimpleNamespace(STEPS=STEPS, FEATURES=FEATURES, TAGS=TAGS, params=params,
                               logits=logits, loss=loss, sample=sample, examples=examples,
                               chunked=chunked)
