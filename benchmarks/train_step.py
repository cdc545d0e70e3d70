"""Training throughput and peak memory of the byte CRF: the `cpu` preset and the paper's config.

One JSON line per preset: sentences/s and tokens/s of the sharded train step over real batches
(after every batch shape has been compiled once), compile time, peak host RSS and, where the
backend reports it, peak device memory.

  python benchmarks/train_step.py                                  # both presets, CoNLL-2002 es
  python benchmarks/train_step.py --presets cpu --langs demo/aa --steps 50
  python benchmarks/train_step.py --presets paper --batch-size 128  # the paper's batch size

The data root defaults to ../shared/data; without it, use `--langs demo/aa` (synthetic corpus).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import resource
import sys
import time

import jax
import numpy as np

from polyglot_ner.data import batching
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.models import registry
from polyglot_ner.train import inference
from polyglot_ner.train import state as state_lib
from polyglot_ner.train import step as step_lib

REPO = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data"
PRESETS = {"cpu": "cpu", "paper": ""}  # name -> configs/byte_crf.py arg


def _get_config(arg: str):
  spec = importlib.util.spec_from_file_location("byte_crf_config", REPO / "configs" / "byte_crf.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def _peak_device_bytes() -> int | None:
  stats = [device.memory_stats() for device in jax.local_devices()]
  peaks = [s.get("peak_bytes_in_use") for s in stats if s]
  return max(peaks) if peaks and None not in peaks else None


def measure(preset: str, langs: list[str], root: str, steps: int, batch_size: int | None) -> dict:
  """Times `steps` training steps of `preset` on the first batches of `langs`' training data."""
  config = _get_config(PRESETS[preset])
  batch_size = batch_size or config.batch_size
  train = {name: corpora.load_split(name, "train", root) for name in langs}
  label_map = labels.LabelMap.from_sentences(s for group in train.values() for s in group)
  mesh = step_lib.make_mesh()
  batches = batching.TrainBatches(
      train, label_map, batch_size=batch_size, length_buckets=config.data.length_buckets,
      byte_buckets=config.data.byte_buckets, max_word_bytes=config.data.max_word_bytes,
      num_shards=mesh.size)
  host_batches = [next(batches) for _ in range(steps)]

  model = registry.get_model(config.model_kind, config.model, len(label_map))
  tx = state_lib.make_optimizer(config.optimizer, steps)
  params = inference.init_params(model, jax.random.PRNGKey(0), mesh)
  state = step_lib.replicate(state_lib.create_train_state(params, tx, jax.random.PRNGKey(1)), mesh)
  train_step = step_lib.make_train_step(model, tx, mesh)

  compile_start = time.perf_counter()
  shapes = {}
  for batch in host_batches:
    shapes.setdefault((batch["word_bytes"].shape, batch["word_ids"].shape), batch)
  for batch in shapes.values():
    state, metrics = train_step(state, step_lib.shard_batch(batch, mesh))
  jax.block_until_ready(metrics)
  compile_seconds = time.perf_counter() - compile_start

  start = time.perf_counter()
  for batch in host_batches:
    state, metrics = train_step(state, step_lib.shard_batch(batch, mesh))
  jax.block_until_ready((state, metrics))
  seconds = time.perf_counter() - start

  sentences = sum(int(np.sum(b["lengths"] > 0)) for b in host_batches)
  tokens = sum(int(np.sum(b["lengths"])) for b in host_batches)
  return {
      "benchmark": "train_step", "preset": preset, "langs": langs, "batch_size": batch_size,
      "steps": steps, "shapes": len(shapes), "devices": jax.device_count(),
      "platform": jax.devices()[0].platform,
      "sentences_per_s": sentences / seconds, "tokens_per_s": tokens / seconds,
      "seconds_per_step": seconds / steps, "compile_and_warmup_s": compile_seconds,
      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      "peak_device_mb": (None if (peak := _peak_device_bytes()) is None else peak / 2**20),
      "final_loss": float(metrics["loss"]),
  }


def main(argv: list[str]) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--presets", default="cpu,paper", help="comma-separated: cpu, paper")
  parser.add_argument("--langs", default="conll2002/es", help="'+'-separated corpus/lang names")
  parser.add_argument("--root", default=str(DEFAULT_ROOT), help="data root")
  parser.add_argument("--steps", type=int, default=20, help="timed steps per preset")
  parser.add_argument("--batch-size", type=int, default=None,
                      help="global batch size (default: the preset's; the paper's is 128)")
  args = parser.parse_args(argv)
  for preset in args.presets.split(","):
    if preset not in PRESETS:
      parser.error(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
    result = measure(preset, args.langs.split("+"), args.root, args.steps, args.batch_size)
    print(json.dumps(result), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
