"""The grain pipeline serves a plan's batches in order, prefetched, and resumes at any batch."""

import json
import threading

import numpy as np
import pytest

from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.data import mixture
from polyglot_ner.data import pipeline
from polyglot_ner.kinds.byte_crf import batches as word_batches


@pytest.fixture(scope="module")
def plan():
  languages = {name: corpora.load_split(name, "train")[:50] for name in ("demo/aa", "demo/bb")}
  label_map = labels.LabelMap.from_sentences(s for group in languages.values() for s in group)
  return word_batches.WordTrainBatches(languages, label_map, batch_size=8, seed=5, num_epochs=2,
                                       mixture=mixture.Mixture({"demo/aa": 1, "demo/bb": 1}))


def _assert_same(expected, got):
  assert expected.keys() == got.keys()
  for key in expected:
    np.testing.assert_array_equal(expected[key], got[key], err_msg=key)


def test_prefetched_batches_are_the_plans_batches_in_order(plan):
  with pipeline.TrainIterator(plan, prefetch=3) as data:
    served = list(data)
  assert len(served) == 2 * plan.batches_per_epoch
  for index, got in enumerate(served):
    _assert_same(plan.pack(plan.plan_rows(index)), got)


def test_the_state_counts_batches_taken_not_prefetched(plan):
  with pipeline.TrainIterator(plan, prefetch=4) as data:
    for _ in range(5):
      next(data)
    state = json.loads(json.dumps(data.get_state()))
    assert state == {"next_index": 5, "seed": 5, "num_sentences": 100}
    following = next(data)
  with pipeline.TrainIterator(plan) as resumed:
    resumed.set_state(state)
    _assert_same(following, next(resumed))


def test_close_stops_the_prefetch_thread(plan):
  before = set(threading.enumerate())
  data = pipeline.TrainIterator(plan, prefetch=2)
  next(data)
  started = {t for t in set(threading.enumerate()) - before if t.name.startswith("grain")}
  assert started, "prefetch=2 packs on a thread of grain's"
  data.close()
  # The thread is told to stop and exits once the batch it is packing is done.
  for thread in started:
    thread.join(timeout=10)
    assert not thread.is_alive(), thread.name
  assert data.wait_seconds > 0
