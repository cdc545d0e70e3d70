"""Fine-tuning shift: relative and absolute change, and a child that moved one language's
important set."""

import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner.analysis import layout as layout_lib
from polyglot_ner.analysis import masks
from polyglot_ner.analysis import shift


def split(flat):
  return {"embed": flat[:400].reshape(20, 20), "output": {"kernel": flat[400:].reshape(60, 10)}}


def test_change_is_elementwise():
  parent, child = split(np.linspace(-2, 2, 1000)), split(np.linspace(-1, 3, 1000))
  moved = np.abs(child["output"]["kernel"] - parent["output"]["kernel"])
  got = shift.change(parent, child, eps=1e-3)
  np.testing.assert_allclose(got["output"]["kernel"],
                             moved / (np.abs(parent["output"]["kernel"]) + 1e-3), rtol=1e-6)
  got = shift.change(parent, child, "absolute")
  np.testing.assert_allclose(got["output"]["kernel"], moved, rtol=1e-6)
  with pytest.raises(errors.UserError, match="child"):
    shift.change(parent, {"embed": parent["embed"]})
  with pytest.raises(errors.UserError, match="'squared' is not one of"):
    shift.change(parent, child, "squared")


def test_a_child_that_moved_one_languages_important_set():
  rng = np.random.default_rng(0)
  n, k = 1000, 0.1
  parent = rng.normal(size=n).astype(np.float32)
  importances = {"aa": split(rng.random(n)), "bb": split(rng.random(n))}
  layout = layout_lib.Layout.of(importances["aa"])
  aa_top = masks.top_k(layout.vector(importances["aa"]), [k])[0]
  child = parent * np.where(aa_top, 11.0, 1.001)  # relative change 10 on aa's set, 1e-3 elsewhere
  result = shift.shift(split(parent), split(child), importances, (k, 0.5), child_name="aa")
  assert result.in_important[0, 0] == 1.0
  assert 0.9 <= result.percentile[0, 0] <= 1.0
  assert abs(result.in_important[0, 1] - k) < 0.1  # bb's set: chance
  assert abs(result.percentile[0, 1] - 0.5) < 0.1
  bb_top = masks.top_k(layout.vector(importances["bb"]), [k])[0]
  assert result.shared_moved[0] == 1.0  # everything shared at k is in aa's set, so it moved
  assert result.moved_shared[0] == pytest.approx(np.sum(aa_top & bb_top) / (k * n))
  assert result.shared_density[0] == pytest.approx(np.sum(aa_top & bb_top) / n)
  for fraction in result.fractions:
    rows = [row for row in result.tensors if row["fraction"] == fraction]
    assert [row["tensor"] for row in rows] == ["embed", "output/kernel"]
    assert sum(row["share_of_moved"] for row in rows) == pytest.approx(1.0)
    assert sum(row["moved"] * row["size"] for row in rows) == pytest.approx(fraction * n)
