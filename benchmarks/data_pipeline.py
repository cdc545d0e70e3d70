"""Data pipeline throughput: sentences/s from the TFDS cache to padded byte batches, one core.

Stages (one JSON line each, best of --repeats):
  read_records        TFDS ArrayRecord cache -> `Sentence`s (`tfds_builder.load_records`)
  records_to_batches  `Sentence`s -> packed arrays -> one full training epoch of batches
  epoch_batches       a further epoch from the already packed arrays (the steady state of training)
  cache_to_batches    read_records + records_to_batches, end to end

Run: python benchmarks/data_pipeline.py [--root ../shared/data] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import sys
import tempfile
import time

import tensorflow_datasets as tfds

from polyglot_ner.data import labels
from polyglot_ner.data import tfds_builder
from polyglot_ner.kinds.byte_crf import batches

DEFAULT_ROOT = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _best_seconds(function, repeats: int) -> float:
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    function()
    best = min(best, time.perf_counter() - start)
  return best


def main(argv: list[str]) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--root", default=str(DEFAULT_ROOT), help="data root (default: %(default)s)")
  parser.add_argument("--corpus", default="conll2003/en")
  parser.add_argument("--split", default="train")
  parser.add_argument("--batch-size", type=int, default=128)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--cache-dir", default=None, help="TFDS cache (default: a temporary folder)")
  args = parser.parse_args(argv)

  tfds.disable_progress_bar()
  if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
  with tempfile.TemporaryDirectory() as tmp:
    cache_dir = args.cache_dir or tmp
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # TFDS announces the build on stdout
      tfds_builder.build(args.corpus, args.root, cache_dir)
    build_seconds = time.perf_counter() - start

    def read():
      return tfds_builder.load_records(args.corpus, args.split, args.root, cache_dir)

    records = read()
    label_map = labels.LabelMap.from_sentences(records)

    def to_batches(sentences):
      train = batches.WordTrainBatches({args.corpus: sentences}, label_map,
                                    batch_size=args.batch_size, num_epochs=1)
      for _ in train:
        pass
      return train

    packed = to_batches(records)

    def next_epoch():
      packed.set_state({**packed.get_state(), "epoch": 0, "position": 0})
      for _ in packed:
        pass

    stages = {
        "read_records": read,
        "records_to_batches": lambda: to_batches(records),
        "epoch_batches": next_epoch,
        "cache_to_batches": lambda: to_batches(read()),
    }
    for stage, function in stages.items():
      seconds = _best_seconds(function, args.repeats)
      print(json.dumps({
          "benchmark": "data_pipeline", "corpus": args.corpus, "split": args.split, "stage": stage,
          "sentences": len(records), "batch_size": args.batch_size,
          "seconds": round(seconds, 4), "sentences_per_s": round(len(records) / seconds),
          "tfds_build_seconds": round(build_seconds, 2), "cores": 1,
      }), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
