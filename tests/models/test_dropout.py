"""Dropout from 16-bit draws: the keep rate, the scaling, and fresh masks per key."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from polyglot_ner.models import dropout


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_keeps_one_minus_rate_and_scales_the_rest(rate):
  x = jnp.ones((3, 333, 101))  # an odd number of elements
  layer = dropout.Dropout(rate)
  out = np.asarray(layer.apply({}, x, deterministic=False, rngs={"dropout": jax.random.key(0)}))
  kept = out != 0
  np.testing.assert_allclose(out[kept], 1.0 / (1.0 - rate), rtol=1e-6)
  assert abs(kept.mean() - (1.0 - rate)) < 0.005  # 100k draws: 5 standard deviations
  again = layer.apply({}, x, deterministic=False, rngs={"dropout": jax.random.key(1)})
  assert 0.4 < np.mean(kept == (np.asarray(again) != 0)) < 0.9  # another key, another mask


def test_identity_when_deterministic_or_rate_zero_and_zeros_at_rate_one():
  x = jnp.arange(12.0).reshape(3, 4)
  np.testing.assert_array_equal(dropout.Dropout(0.5).apply({}, x, deterministic=True), x)
  np.testing.assert_array_equal(
      dropout.Dropout(0.0).apply({}, x, deterministic=False, rngs={"dropout": jax.random.key(0)}),
      x)
  assert not np.any(dropout.Dropout(1.0).apply({}, x, deterministic=False,
                                               rngs={"dropout": jax.random.key(0)}))
