"""Training throughput and peak memory of every model kind's presets (the byte CRF's `cpu` preset
and the paper's config by default), the byte CRF side by side with a plain PyTorch twin
(`../shared/peers/torch_twin.py`) at the `cpu` sizes.

One JSON line per preset: sentences/s and tokens/s of the sharded train step over real batches
(after every batch shape has been compiled once), compile time, peak host RSS and, where the
backend reports it, peak device memory. With `--twin`, the twin trains the same number of steps
on the same file at the `cpu` preset's sizes in the same run, and a last line gives ours / twin.
The twin needs torch and pytorch-crf (never project dependencies): `--twin-python` names an
interpreter that has them; without them the twin is skipped with a line saying why.

  python benchmarks/train_step.py                                  # both presets, CoNLL-2002 es
  python benchmarks/train_step.py --presets cpu --steps 100 --twin --twin-python venv-torch/bin/python
  python benchmarks/train_step.py --presets cpu --langs demo/aa --steps 50
  python benchmarks/train_step.py --presets paper --batch-size 128  # the paper's batch size

The data root defaults to ../shared/data; without it, use `--langs demo/aa` (synthetic corpus).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import os
import resource
import subprocess
import sys
import time

import jax
import numpy as np

from polyglot_ner import config as config_lib
from polyglot_ner import kinds
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.data import mixture as mixture_lib
from polyglot_ner.train import host_memory
from polyglot_ner.train import state as state_lib
from polyglot_ner.train import step as step_lib

REPO = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data"
TWIN = REPO.parent / "shared" / "peers" / "torch_twin.py"
PRESETS = {  # name -> configs/ file and arg
    "cpu": "byte_crf.py:cpu", "paper": "byte_crf.py",
    "bts_cpu": "bts.py:cpu",
    "bts_paper": "bts.py",
    "charner_cpu": "charner.py:cpu",
    "charner_paper": "charner.py",
}


def _peak_device_bytes() -> int | None:
  stats = [device.memory_stats() for device in jax.local_devices()]
  peaks = [s.get("peak_bytes_in_use") for s in stats if s]
  return max(peaks) if peaks and None not in peaks else None


def measure(preset: str, langs: list[str], root: str, steps: int, batch_size: int | None) -> dict:
  """Times `steps` training steps of `preset` on the first batches of `langs`' training data."""
  config = config_lib.load_config(PRESETS[preset])
  with config.unlocked():
    config.batch_size = batch_size or config.batch_size
  train = {name: corpora.load_split(name, "train", root) for name in langs}
  label_map = labels.LabelMap.from_sentences(s for group in train.values() for s in group)
  mesh = step_lib.make_mesh()
  kind = kinds.build(config, label_map)
  batches = kind.train_batches(train, mixture_lib.Mixture({name: 1.0 for name in langs}), seed=0,
                               num_shards=mesh.size)
  host_batches = [next(batches) for _ in range(steps)]

  tx = state_lib.make_optimizer(config.optimizer, steps)
  params = kind.init_params(jax.random.PRNGKey(0), mesh)
  state = step_lib.replicate(state_lib.create_train_state(params, tx, jax.random.PRNGKey(1)), mesh)
  train_step = step_lib.make_train_step(kind, tx, mesh)

  compile_start = time.perf_counter()
  shapes = {}
  for batch in host_batches:
    shapes.setdefault(tuple(value.shape for value in batch.values()), batch)
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
      "benchmark": "train_step", "preset": preset, "model_kind": config.model_kind,
      "langs": langs, "batch_size": config.batch_size,
      "steps": steps, "shapes": len(shapes), "devices": jax.device_count(),
      "platform": jax.devices()[0].platform,
      "sentences_per_s": sentences / seconds, "tokens_per_s": tokens / seconds,
      "seconds_per_step": seconds / steps, "compile_and_warmup_s": compile_seconds,
      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      "peak_device_mb": (None if (peak := _peak_device_bytes()) is None else peak / 2**20),
      "final_loss": float(metrics["loss"]),
  }


def measure_twin(python: str, langs: list[str], root: str, steps: int) -> dict:
  """The PyTorch twin's training sentences/s over `steps` steps at the `cpu` preset's sizes."""
  config = config_lib.load_config(PRESETS["cpu"])
  check = subprocess.run([python, "-c", "import torch, torchcrf, seqeval"], capture_output=True)
  if check.returncode or len(langs) != 1 or not TWIN.exists():
    return {"benchmark": "train_step", "peer": "torch_twin",
            "skipped": f"needs {TWIN}, one language, and torch, pytorch-crf, seqeval in {python}"}
  train = corpora.split_path(langs[0], "train", root)
  m = config.model
  dev = corpora.split_path(langs[0], "dev", root)
  command = [python, str(TWIN), str(train), str(dev), "--epochs", "1", "--max_steps", str(steps),
             "--byte_layers", str(m.byte_layers), "--byte_hidden", str(m.byte_hidden),
             "--byte_emb", str(m.byte_emb_dim), "--max_bytes", str(config.data.max_word_bytes),
             "--word_hidden", str(m.word_hidden), "--batch", str(config.batch_size),
             "--lr", str(config.optimizer.learning_rate),
             "--threads", str(len(os.sched_getaffinity(0)))]
  result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
  return {"benchmark": "train_step", "preset": "cpu", "langs": langs, "steps": steps,
          "sentences_per_s": result["train_sent_per_s"], **result}


def main(argv: list[str]) -> int:
  host_memory.configure()  # as `polyglot-ner` does
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--presets", default="cpu,paper",
                      help=f"comma-separated: {', '.join(PRESETS)}")
  parser.add_argument("--langs", default="conll2002/es", help="'+'-separated corpus/lang names")
  parser.add_argument("--root", default=str(DEFAULT_ROOT), help="data root")
  parser.add_argument("--steps", type=int, default=20, help="timed steps per preset")
  parser.add_argument("--batch-size", type=int, default=None,
                      help="global batch size (default: the preset's; the paper's is 128)")
  parser.add_argument("--twin", action="store_true",
                      help="also time the PyTorch twin at the cpu preset's sizes")
  parser.add_argument("--twin-python", default=sys.executable,
                      help="a Python with torch, pytorch-crf and seqeval for the twin")
  args = parser.parse_args(argv)
  langs = args.langs.split("+")
  results = {}
  for preset in args.presets.split(","):
    if preset not in PRESETS:
      parser.error(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
    results[preset] = measure(preset, langs, args.root, args.steps, args.batch_size)
    print(json.dumps(results[preset]), flush=True)
  if args.twin:
    twin = measure_twin(args.twin_python, langs, args.root, args.steps)
    print(json.dumps(twin), flush=True)
    if "cpu" in results and "skipped" not in twin:
      ratio = results["cpu"]["sentences_per_s"] / twin["sentences_per_s"]
      print(json.dumps({"benchmark": "train_step_vs_twin", "preset": "cpu", "langs": langs,
                        "ours_over_twin": ratio}))
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
