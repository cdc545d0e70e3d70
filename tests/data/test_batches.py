"""The batching every kind shares: buckets, processes' parts of a batch (the mixture plans are
tested with each kind's rows)."""

import numpy as np
import pytest

from polyglot_ner.data import batches
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.data import pipeline
from polyglot_ner.kinds.bts import windows
from polyglot_ner.kinds.byte_crf import batches as word_batches
from polyglot_ner.kinds.charner import batches as byte_batches


def test_bucket_helpers():
  assert batches.bucket_for(0, (8, 16)) == 8
  assert batches.bucket_for(9, (8, 16)) == 16
  with pytest.raises(ValueError, match="exceeds"):
    batches.bucket_for(17, (8, 16))
  assert batches.eval_length_buckets((8, 128), 124) == (8, 128)
  assert batches.eval_length_buckets((8, 128), 1238) == (8, 128, 1280)


def test_fitted_rows_are_few_shapes():
  """Powers of two of blocks up to 8, then quarter-octave steps, at most the batch size."""
  assert [batches.fitted_rows(n, 4, 512) for n in (1, 4, 5, 9, 3000)] == [4, 4, 8, 16, 512]
  assert [batches.fitted_rows(n, 1, 512) for n in (3, 9, 65, 257, 394, 449)] == [
      4, 10, 80, 320, 448, 512]


def test_part_rows_are_a_process_share_of_whole_blocks():
  assert batches.part_rows(16, 4) == slice(0, 16)
  assert [batches.part_rows(16, 4, (p, 2)) for p in range(2)] == [slice(0, 8), slice(8, 16)]
  with pytest.raises(ValueError, match="part"):
    batches.part_rows(16, 4, (0, 3))
  with pytest.raises(ValueError, match="part"):
    batches.part_rows(16, 4, (2, 2))


@pytest.fixture(scope="module")
def plans(data_root):
  languages = {name: corpora.load_split(name, "train", data_root)[:300]
               for name in ("conll2002/es", "conll2002/nl")}
  label_map = labels.LabelMap.from_sentences(s for group in languages.values() for s in group)
  options = {"batch_size": 32, "seed": 3, "num_shards": 4}
  return {"byte_crf": word_batches.WordTrainBatches(languages, label_map, **options),
          "charner": byte_batches.ByteTrainBatches(languages, label_map, **options),
          "bts": windows.WindowTrainBatches(languages, windows.Vocabulary(label_map.types, 60),
                                            **options)}


@pytest.mark.parametrize("kind", ["byte_crf", "charner", "bts"])
@pytest.mark.parametrize("count", [2, 4])
def test_every_kinds_parts_padded_as_agreed_are_the_whole_batch(plans, kind, count):
  plan = plans[kind]
  blocks = plan.num_shards // count
  for index in range(12):
    rows = plan.plan_rows(index)
    parts = [plan.pack(rows, (p, count)) for p in range(count)]
    agreed = np.max([pipeline.block_rows(part, plan.agreed_rows, blocks) for part in parts], 0)
    parts = [pipeline.pad_block_rows(part, plan.agreed_rows, blocks, agreed) for part in parts]
    whole = plan.pack(rows)
    assert len(parts[0]["lengths"]) == plan.batch_size // count
    for key, value in whole.items():
      np.testing.assert_array_equal(np.concatenate([part[key] for part in parts]), value,
                                    err_msg=f"batch {index}: {key}")
