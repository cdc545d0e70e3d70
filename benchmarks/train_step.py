"""Training throughput and peak memory of every model kind's presets (the byte CRF's `cpu` preset
and the paper's config by default), each kind's `cpu` preset side by side with a plain PyTorch twin
(`../shared/peers/`: `torch_twin.py`, `charner_twin.py`, `bts_twin.py`) at the same sizes.

One JSON line per preset: rows/s (sentences, or windows for Byte-to-Span) and their units/s
(words or bytes) of the sharded train step over real batches (after every batch shape has been
compiled once), compile time, peak host RSS and, where the backend reports it, peak device
memory. With `--twin`, each preset that has a twin (`twins.TWINS`) is timed `--repeats` times
alternating with its twin, which trains the same number of steps on the same file at the preset's
sizes, and a last line per preset gives ours / twin (the ratio of the medians). `--twin-python`
names an interpreter with the twins' modules (`twins.py`); without them the twin is skipped with a
line saying why.

  python benchmarks/train_step.py                                  # both presets, CoNLL-2002 es
  python benchmarks/train_step.py --presets cpu,charner_cpu,bts_cpu --steps 40 --twin \\
      --repeats 3 --twin-python venv-torch/bin/python
  python benchmarks/train_step.py --presets cpu --langs demo/aa --steps 50
  python benchmarks/train_step.py --presets paper --batch-size 128  # the paper's batch size

The data root defaults to ../shared/data; without it, use `--langs demo/aa` (synthetic corpus).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
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

import twins  # benchmarks/twins.py, beside this script

DEFAULT_ROOT = twins.REPO.parent / "shared" / "data"
PRESETS = {  # name -> configs/ file and arg
    "cpu": "byte_crf.py:cpu", "paper": "byte_crf.py",
    "bts_cpu": "bts.py:cpu",
    "bts_paper": "bts.py",
    "charner_cpu": "charner.py:cpu",
    "charner_paper": "charner.py",
}
# What a batch row is and what its `lengths` count, per model kind.
ROW_UNITS = {"byte_crf": ("sentences", "words"), "charner": ("sentences", "bytes"),
             "bts": ("windows", "bytes")}


def _peak_device_bytes() -> int | None:
  stats = [device.memory_stats() for device in jax.local_devices()]
  peaks = [s.get("peak_bytes_in_use") for s in stats if s]
  return max(peaks) if peaks and None not in peaks else None


class Bench:
  """One preset's train step, compiled for every shape of its first `steps` batches at
  construction; `time()` times one pass over them (callable repeatedly, interleaved with twins)."""

  def __init__(self, preset: str, langs: list[str], root: str, steps: int,
               batch_size: int | None):
    self.preset, self.langs = preset, langs
    self.config = config = config_lib.load_config(PRESETS[preset])
    with config.unlocked():
      config.batch_size = batch_size or config.batch_size
    train = {name: corpora.load_split(name, "train", root) for name in langs}
    label_map = labels.LabelMap.from_sentences(s for group in train.values() for s in group)
    self.mesh = mesh = step_lib.make_mesh()
    kind = kinds.build(config, label_map)
    batches = kind.train_batches(train, mixture_lib.Mixture({name: 1.0 for name in langs}),
                                 seed=0, num_shards=mesh.size)
    data = iter(batches)
    self.host_batches = [next(data) for _ in range(steps)]

    tx = state_lib.make_optimizer(config.optimizer)
    self.learning_rates = state_lib.learning_rates(config.optimizer, steps)
    params = kind.init_params(jax.random.PRNGKey(0), mesh)
    self.state = step_lib.replicate(state_lib.create_train_state(params, tx, jax.random.PRNGKey(1)),
                                    mesh)
    self.train_step = step_lib.make_train_step(kind, tx, mesh)

    compile_start = time.perf_counter()
    shapes = {}
    for batch in self.host_batches:
      shapes.setdefault(tuple(value.shape for value in batch.values()), batch)
    for batch in shapes.values():
      self.state, metrics = self.train_step(self.state, step_lib.shard_batch(batch, mesh),
                                            self.learning_rates[0])
    jax.block_until_ready(metrics)
    self.compile_seconds = time.perf_counter() - compile_start
    self.num_shapes = len(shapes)

  def time(self) -> dict:
    """One timed pass over the batches: the preset's JSON line."""
    start = time.perf_counter()
    for batch, learning_rate in zip(self.host_batches, self.learning_rates):
      self.state, metrics = self.train_step(self.state, step_lib.shard_batch(batch, self.mesh),
                                            learning_rate)
    jax.block_until_ready((self.state, metrics))
    seconds = time.perf_counter() - start

    steps = len(self.host_batches)
    rows = sum(int(np.sum(b["lengths"] > 0)) for b in self.host_batches)
    units = sum(int(np.sum(b["lengths"])) for b in self.host_batches)
    row_unit, length_unit = ROW_UNITS[self.config.model_kind]
    return {
        "benchmark": "train_step", "preset": self.preset, "model_kind": self.config.model_kind,
        "langs": self.langs, "batch_size": self.config.batch_size,
        "steps": steps, "shapes": self.num_shapes, "devices": jax.device_count(),
        "platform": jax.devices()[0].platform,
        f"{row_unit}_per_s": rows / seconds, f"{length_unit}_per_s": units / seconds,
        "seconds_per_step": seconds / steps, "compile_and_warmup_s": self.compile_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_device_mb": (None if (peak := _peak_device_bytes()) is None else peak / 2**20),
        "final_loss": float(metrics["loss"]),
    }


def measure_twin(preset: str, python: str, langs: list[str], root: str, steps: int,
                 batch_size: int | None) -> dict:
  """The preset's PyTorch twin trained for `steps` steps at the preset's sizes: its JSON line."""
  twin = twins.TWINS[preset]
  reason = "needs one language" if len(langs) != 1 else twins.unavailable(twin, python)
  if reason:
    return {"benchmark": "train_step", "peer": twin.script.removesuffix(".py"), "preset": preset,
            "skipped": reason}
  config = config_lib.load_config(PRESETS[preset])
  flags = {**twin.flags(config), "batch": batch_size or config.batch_size,
           "lr": config.optimizer.learning_rate, "epochs": 1, "max_steps": steps,
           "threads": twins.threads()}
  result = twins.run(python, twins.PEERS / twin.script,
                     [str(corpora.split_path(langs[0], split, root)) for split in ("train", "dev")],
                     flags)
  return {"benchmark": "train_step", "preset": preset, "langs": langs, **result}


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
                      help=f"also time the PyTorch twins of {', '.join(twins.TWINS)}")
  parser.add_argument("--twin-python", default=sys.executable,
                      help="a Python with torch, seqeval (and pytorch-crf) for the twins")
  parser.add_argument("--repeats", type=int, default=1,
                      help="timed passes per preset (each followed by its twin's run)")
  args = parser.parse_args(argv)
  langs = args.langs.split("+")
  for preset in args.presets.split(","):
    if preset not in PRESETS:
      parser.error(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
    bench = Bench(preset, langs, args.root, args.steps, args.batch_size)
    with_twin = args.twin and preset in twins.TWINS
    ours, twin_lines = [], []
    for _ in range(args.repeats):
      ours.append(bench.time())
      print(json.dumps(ours[-1]), flush=True)
      if with_twin:
        twin_lines.append(measure_twin(preset, args.twin_python, langs, args.root, args.steps,
                                       args.batch_size))
        print(json.dumps(twin_lines[-1]), flush=True)
    if with_twin and "skipped" not in twin_lines[-1]:
      unit = ROW_UNITS[bench.config.model_kind][0]
      ours_rate = statistics.median(line[f"{unit}_per_s"] for line in ours)
      twin_rate = statistics.median(line[twins.TWINS[preset].rate_key] for line in twin_lines)
      print(json.dumps({"benchmark": "train_step_vs_twin", "preset": preset, "langs": langs,
                        "steps": args.steps, "repeats": args.repeats, "units": f"{unit}/s",
                        "ours": ours_rate, "twin": twin_rate,
                        "ours_over_twin": ours_rate / twin_rate}), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
