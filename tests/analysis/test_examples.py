"""Per-example inputs for any kind: one-row blocks of a batch as stacked examples, in chunks of
equal shapes, padding rows dropped; the example loss is the kind's loss of a one-row batch."""

import jax.numpy as jnp
import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner.analysis import examples
from polyglot_ner.data import conll


class Batches(list):
  """Re-iterable batches with each row's sentence (-1: padding), as `EvalData` has them."""

  indices: list[np.ndarray]


class WideKind:
  """Batches with keys of their own: `table` [S*2, W] holds two rows per block (a row's block:
  its sentence number in both rows), W the batch's width bucket (2 or 4)."""

  def eval_batches(self, sentences, *, lang, batch_size, num_shards):
    assert num_shards == batch_size  # one block per row: what the examples ask for
    batches = Batches(self._batches(sentences, lang, batch_size))
    batches.indices = [np.where(np.arange(batch_size) < len(sentences) - start,
                                start + np.arange(batch_size), -1)
                       for start in range(0, len(sentences), batch_size)]
    return batches

  def _batches(self, sentences, lang, batch_size):
    for start in range(0, len(sentences), batch_size):
      part = sentences[start:start + batch_size]
      lengths = np.zeros(batch_size, np.int32)
      lengths[:len(part)] = [len(s) for s in part]
      width = 2 if lengths.max() <= 2 else 4
      table = np.zeros((2 * batch_size, width), np.float32)
      table[:2 * len(part)] = np.repeat(np.arange(start, start + len(part)), 2)[:, None]
      yield {"table": table, "lengths": lengths, "lang": np.full(batch_size, lang, np.int32)}

  def loss(self, params, batch, rng, *, train):
    """A mean per table entry, weighted by the row's number of entries."""
    del rng, train
    rows = batch["table"].reshape(len(batch["lengths"]), -1)
    return jnp.mean(rows, 1) * params["w"], jnp.full(len(rows), rows.shape[1])


def sentence(n):
  return conll.Sentence(("w",) * n, ("O",) * n)


def test_examples_are_one_row_blocks_in_chunks_of_equal_shapes():
  lengths = [1, 2, 1, 3, 4, 2, 1]  # batches of 3: widths 2, 4, 2 (the last one short)
  data = examples.Examples(WideKind(), [sentence(n) for n in lengths], lang=1, chunk_size=3)
  chunks = list(data)
  assert len(data) == data.num_examples == 7 and [len(c["lengths"]) for c in chunks] == [3, 3, 1]
  assert [c["table"].shape[1:] for c in chunks] == [(2, 2), (2, 4), (2, 2)]
  numbers = np.concatenate([c["table"][:, 0, 0] for c in chunks])
  assert numbers.tolist() == list(range(7))  # every sentence once, padding rows dropped
  assert np.concatenate([c["lengths"][:, 0] for c in chunks]).tolist() == lengths
  assert all(np.all(c["lang"] == 1) for c in chunks)
  assert [len(c["lengths"]) for c in data] == [3, 3, 1]  # re-iterable


def test_consecutive_batches_of_one_shape_fill_whole_chunks():
  data = examples.Examples(WideKind(), [sentence(1)] * 7, lang=0, chunk_size=2)
  assert [len(c["lengths"]) for c in data] == [2, 2, 2, 1]


def test_the_example_loss_is_the_weighted_kind_loss_of_a_one_row_batch():
  data = examples.Examples(WideKind(), [sentence(3), sentence(1)], lang=0, chunk_size=2)
  chunk = next(iter(data))
  model = examples.model(WideKind(), {"w": 2.0})
  assert model.sample_labels is None  # this kind draws no labels
  one = {key: value[1] for key, value in chunk.items()}
  assert model.example_loss(model.params, one, None) == 2.0 * 1 * 2 * 4  # w * sum of the row


def test_rows_need_one_block_per_row_and_a_sample_is_seeded():
  with pytest.raises(ValueError, match="num_shards = batch size"):
    examples.rows({"lengths": np.ones(2), "table": np.ones((3, 1))})
  sentences = [sentence(n) for n in range(1, 11)]
  assert examples.subset(sentences, None) == sentences
  picked = examples.subset(sentences, 4, seed=3)
  assert picked == examples.subset(sentences, 4, seed=3) and len(picked) == 4
  assert picked == sorted(picked, key=len)  # the file's order
  with pytest.raises(errors.UserError, match="max_sentences"):
    examples.subset(sentences, -1)
