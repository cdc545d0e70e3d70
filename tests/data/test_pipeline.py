"""The grain pipeline serves a plan's batches in order, prefetched, and resumes at any batch."""

import collections
import json
import threading

import numpy as np
import pytest

from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.data import mixture
from polyglot_ner.data import pipeline
from polyglot_ner.kinds.byte_crf import batches as word_batches


def _demo_plan(num_shards=1):
  languages = {name: corpora.load_split(name, "train")[:50] for name in ("demo/aa", "demo/bb")}
  label_map = labels.LabelMap.from_sentences(s for group in languages.values() for s in group)
  return word_batches.WordTrainBatches(languages, label_map, batch_size=8, seed=5, num_epochs=2,
                                       mixture=mixture.Mixture({"demo/aa": 1, "demo/bb": 1}),
                                       num_shards=num_shards)


@pytest.fixture(scope="module")
def plan():
  return _demo_plan()


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


class _Processes:
  """`agree(p)`: process p's `agree` among `count` processes simulated by threads: the k-th call
  of each meets the k-th call of every other, as a collective does."""

  def __init__(self, count):
    self.count = count
    self.sizes = collections.defaultdict(list)  # k -> every process's sizes
    self._calls = collections.Counter()
    self._met = threading.Condition()

  def agree(self, process):
    def start(sizes):
      with self._met:
        call = self._calls[process]
        self._calls[process] += 1
        self.sizes[call].append(sizes)
        self._met.notify_all()

      def wait():
        with self._met:
          assert self._met.wait_for(lambda: len(self.sizes[call]) == self.count, timeout=60)
          return np.max(self.sizes[call], axis=0)
      return wait
    return start


def _sentence(words):
  words = tuple(words)
  return conll.Sentence(words, ("O",) * len(words))


def test_processes_packing_their_parts_serve_the_whole_batches(tmp_path):
  # Distinct words sort before sentences of one repeated word (one word longer), so the first
  # process's blocks need larger word tables than the second's: they must agree on them.
  languages = {"xx/varied": [_sentence(f"w{i}x{j}" + "é" * (j % 9) for j in range(30))
                             for i in range(40)],
               "xx/same": [_sentence(["la"] * 31) for _ in range(40)]}
  label_map = labels.LabelMap.from_sentences(s for group in languages.values() for s in group)
  plan = word_batches.WordTrainBatches(languages, label_map, batch_size=64, seed=1, num_shards=4,
                                       num_epochs=2)
  with pipeline.TrainIterator(plan) as data:
    expected = list(data)
    rows = data.rows
  processes = _Processes(2)
  served, counted = [None, None], [None, None]

  def run(process):
    with pipeline.TrainIterator(plan, part=(process, 2), agree=processes.agree(process)) as data:
      served[process] = list(data)
      counted[process] = data.rows

  threads = [threading.Thread(target=run, args=(p,)) for p in range(2)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join(timeout=60)
  assert any(not np.array_equal(*sizes) for sizes in processes.sizes.values())
  assert len(served[0]) == len(served[1]) == len(expected) == 2 * plan.batches_per_epoch
  for whole, *parts in zip(expected, *served):
    _assert_same(whole, {key: np.concatenate([part[key] for part in parts]) for key in whole})
  assert counted[0] + counted[1] == rows == {0: 80, 1: 80}
  assert counted[0] != counted[1]  # the varied sentences sort first


def test_a_part_of_a_plan_with_agreed_rows_needs_agree(plan):
  with pytest.raises(ValueError, match="agree"):
    pipeline.TrainIterator(plan, part=(0, 2))
  pipeline.TrainIterator(plan, part=(0, 2), agree=_Processes(2).agree(0)).close()


def test_the_state_of_a_part_counts_the_batches_agreed_ahead_as_not_taken():
  def part(processes):
    # One process of a count of one: the agreement is its own sizes.
    return pipeline.TrainIterator(_demo_plan(num_shards=2), part=(0, 2),
                                  agree=processes.agree(0))

  processes = _Processes(1)
  with part(processes) as data:
    for _ in range(3):
      next(data)
    state = data.get_state()
    assert state["next_index"] == 3 and len(processes.sizes) == 4
    following = next(data)
  with part(_Processes(1)) as resumed:
    resumed.set_state(state)
    _assert_same(following, next(resumed))
