"""Pruning: masks zero exactly the chosen count, and the damage matrix equals a brute-force run."""

import jax
import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner.analysis import masks
from polyglot_ner.analysis import pruning

# Flat order of the layout: "aa" (6), "bb" (6), "shared" (4).
SIZES = {"aa": 6, "bb": 6, "shared": 4}


def split(flat):
  flat = np.asarray(flat, np.float32)
  return {"aa": flat[:6], "bb": flat[6:12], "shared": flat[12:].reshape(2, 2)}


def test_apply_mask_zeroes_exactly_the_chosen_count():
  rng = np.random.default_rng(0)
  params = jax.tree.map(jax.numpy.asarray, split(rng.uniform(1, 2, 16)))
  chosen = masks.top_k_masks(split(rng.random(16)), (0.1, 0.25, 0.5, 1.0))
  for k, mask in chosen.items():
    pruned = pruning.apply_mask(params, mask)
    flat_pruned = np.concatenate([np.ravel(x) for x in jax.tree.leaves(pruned)])
    flat_mask = np.concatenate([np.ravel(x) for x in jax.tree.leaves(mask)])
    flat_params = np.concatenate([np.ravel(x) for x in jax.tree.leaves(params)])
    assert np.count_nonzero(flat_pruned == 0) == masks.count(k, 16) == flat_mask.sum()
    np.testing.assert_array_equal(flat_pruned[~flat_mask], flat_params[~flat_mask])
  with pytest.raises(errors.UserError, match="mask"):
    pruning.apply_mask(params, {"aa": np.zeros(6, bool)})


def test_damage_matrix_equals_a_brute_force_run():
  values = np.arange(1, 17, dtype=np.float32)  # distinct, non-zero
  params = split(values)

  def score(p):  # each "language" reads its own tensor and the shared one; "zeros" counts zeros
    flat = np.concatenate([np.ravel(p[key]) for key in SIZES])
    return {"aa": flat[np.r_[0:6, 12:16]].sum() / 100, "bb": flat[6:16].sum() / 100,
            "zeros": float(np.mean(flat == 0))}

  importance = {"aa": split(np.r_[np.linspace(3, 2, 6), np.zeros(6), np.full(4, 1.0)]),
                "bb": split(np.r_[np.zeros(6), np.linspace(2, 3, 6), np.full(4, 1.0)])}
  fractions = (0.25, 0.5)
  calls = []
  result = pruning.pruning(params, importance, lambda p: calls.append(1) or score(p), fractions,
                           progress=False)
  assert len(calls) == 1 + len(fractions) * (2 * 2 + 1) == len(result.rows) + 1
  assert result.baseline == score(params) and result.languages == ("aa", "bb", "zeros")

  def brute(order, k):  # zero the first round(k * 16) entries of `order`, score
    flat = values.copy()
    flat[list(order)[:round(k * 16)]] = 0
    return score(split(flat))

  for lang, tree in importance.items():
    flat = np.concatenate([np.ravel(tree[key]) for key in SIZES])
    top = sorted(range(16), key=lambda i: (-flat[i], i))
    bottom = sorted(range(16), key=lambda i: (flat[i], i))
    for k in fractions:
      assert result.scores("important", lang, k) == pytest.approx(brute(top, k))
      assert result.scores("least", lang, k) == pytest.approx(brute(bottom, k))
  for k in fractions:
    assert result.scores("random", None, k)["zeros"] == round(k * 16) / 16
    damage = result.damage(k)
    assert damage.shape == (2, 3)
    np.testing.assert_allclose(damage[:, :2], [
        [result.baseline[b] - result.scores("important", a, k)[b] for b in ("aa", "bb")]
        for a in ("aa", "bb")])
  # aa's top quarter is its own tensor: pruning it leaves bb untouched.
  assert result.damage(0.25)[0, 1] == 0 and result.damage(0.25)[0, 0] > 0
  with pytest.raises(errors.UserError, match="controls"):
    pruning.pruning(params, importance, score, fractions, controls=("shuffled",))
