"""Input pipeline throughput per model kind: sentences/s of packed training batches, one host.

One JSON line per kind and stage (best of --repeats; rows are sentences, or windows for
Byte-to-Span, and rates count the sentences of the training split):
  plan        the kind's `TrainBatches` over the split: its rows packed into flat arrays, once per run
  pack        one epoch of batches packed on the calling thread (`iter(batches)`: the transform alone)
  pipeline    one epoch through `data.pipeline.TrainIterator` as training reads it (grain, packed
              ahead on a background thread), with `--step-ms` of simulated training step per batch
              (sleeping, as the accelerator's time is to the host); `input_wait_fraction` is the
              share of the epoch the loop spent waiting for batches
  padding     the padded fraction of the plan's batches (length-sorted windows) beside batches of
              a per-record shuffle (what grain's own shuffling and `MapDataset.mix` would give)

  python benchmarks/data_pipeline.py --root ../shared/data
  python benchmarks/data_pipeline.py --kinds byte_crf --lang conll2003/en --step-ms 6.3
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

from polyglot_ner import config as config_lib
from polyglot_ner import kinds
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.data import mixture as mixture_lib
from polyglot_ner.data import pipeline

REPO = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data"
PRESETS = {"byte_crf": "byte_crf.py:cpu", "charner": "charner.py:cpu", "bts": "bts.py:cpu"}


def _best(function, repeats: int) -> tuple[float, object]:
  """(the fastest of `repeats` calls in seconds, the last call's result)."""
  best, result = float("inf"), None
  for _ in range(repeats):
    start = time.perf_counter()
    result = function()
    best = min(best, time.perf_counter() - start)
  return best, result


def _padded_fraction(batches_list: list[dict[str, np.ndarray]]) -> float:
  """Padding slots over all slots of the batches' row arrays (rows x padded length)."""
  real = sum(int(np.sum(b["lengths"])) for b in batches_list)
  slots = 0
  for b in batches_list:
    rows = next(v for k, v in b.items() if k in ("word_ids", "bytes"))
    slots += rows.size
  return 1.0 - real / slots


def bench_kind(kind_name: str, lang: str, root: str, repeats: int, step_ms: float) -> list[dict]:
  config = config_lib.load_config(str(REPO / "configs" / PRESETS[kind_name]))
  train = {lang: corpora.load_split(lang, "train", root)}
  label_map = labels.LabelMap.from_sentences(train[lang])
  kind = kinds.build(config, label_map)
  mixture = mixture_lib.Mixture({lang: 1.0})
  sentences = len(train[lang])

  def plan():
    return kind.train_batches(train, mixture, seed=0, num_shards=1)

  seconds, batches = _best(plan, repeats)
  per_epoch = batches.batches_per_epoch
  lines = [{"stage": "plan", "seconds": seconds}]

  def pack_epoch():
    data = iter(batches)
    return [next(data) for _ in range(per_epoch)]

  seconds, packed = _best(pack_epoch, repeats)
  lines.append({"stage": "pack", "seconds": seconds})

  def pipeline_epoch():
    with pipeline.TrainIterator(batches) as data:
      start = time.perf_counter()
      for _ in range(per_epoch):
        next(data)
        time.sleep(step_ms / 1e3)
      return data.wait_seconds / (time.perf_counter() - start)

  seconds, wait = _best(pipeline_epoch, repeats)
  lines.append({"stage": "pipeline", "seconds": seconds, "step_ms": step_ms,
                "input_wait_fraction": round(wait, 4)})

  if kind_name != "bts":  # BTS's windows have a fixed width: nothing to sort
    shuffled = np.random.default_rng(0).permutation(len(batches))
    size = batches.batch_size
    plain = [batches.pack(shuffled[i:i + size]) for i in range(0, len(shuffled), size)]
    lines.append({"stage": "padding", "plan": round(_padded_fraction(packed), 4),
                  "per_record_shuffle": round(_padded_fraction(plain), 4)})
  for line in lines:
    if "seconds" in line:
      line["sentences_per_s"] = round(sentences / line["seconds"])
      line["seconds"] = round(line["seconds"], 4)
  return [{"benchmark": "data_pipeline", "kind": kind_name, "preset": PRESETS[kind_name],
           "lang": lang, "sentences": sentences, "batches_per_epoch": per_epoch,
           "batch_size": batches.batch_size, **line} for line in lines]


def main(argv: list[str]) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--root", default=str(DEFAULT_ROOT), help="data root (default: %(default)s)")
  parser.add_argument("--lang", default="conll2002/es")
  parser.add_argument("--kinds", default=",".join(PRESETS), help="default: %(default)s")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--step-ms", type=float, default=0.0,
                      help="simulated training step per batch in the pipeline stage")
  args = parser.parse_args(argv)
  for kind_name in args.kinds.split(","):
    for line in bench_kind(kind_name, args.lang, args.root, args.repeats, args.step_ms):
      print(json.dumps(line), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
