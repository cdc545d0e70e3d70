"""The batching every kind shares: buckets (the mixture plans are tested with each kind's rows)."""

import pytest

from polyglot_ner.data import batches


def test_bucket_helpers():
  assert batches.bucket_for(0, (8, 16)) == 8
  assert batches.bucket_for(9, (8, 16)) == 16
  with pytest.raises(ValueError, match="exceeds"):
    batches.bucket_for(17, (8, 16))
  assert batches.eval_length_buckets((8, 128), 124) == (8, 128)
  assert batches.eval_length_buckets((8, 128), 1238) == (8, 128, 1280)


def test_fitted_rows_are_few_shapes():
  assert [batches.fitted_rows(n, 4, 512) for n in (1, 4, 5, 9, 3000)] == [4, 4, 8, 16, 512]
