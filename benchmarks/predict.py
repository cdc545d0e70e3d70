"""Inference throughput of `run.entities`: sentences/s on CoNLL-2002 es test per model kind and
batch size, once compiled (the best and the median of `--repeats` calls after the first), and the
first call's extra time (compiling), one JSON line each.

A kind without `--workdirs` is measured with random parameters of its `cpu` preset (speed does
not depend on the values). Batch size 1 reads only `--max_sentences_b1` sentences. Each byte CRF
line is followed by the PyTorch twin's (`twin_decode.py`: its eval loop, forward and Viterbi, at
the preset's sizes and the same batch size, as many threads as cores), run under `--twin-python`;
without torch and pytorch-crf there, one line says why the twin was skipped. Memory is set up as
`polyglot-ner` sets it (`host_memory.configure`).

Run: python benchmarks/predict.py [--root ../shared/data] [--kinds byte_crf,charner,bts]
         [--batch_sizes 1,32,512] [--workdirs byte_crf=runs/es,...]
         [--twin-python venv-torch/bin/python]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

import jax

from polyglot_ner import config as config_lib
from polyglot_ner import kinds
from polyglot_ner import runs
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.train import host_memory
from polyglot_ner.train import step as step_lib

import twins  # benchmarks/twins.py, beside this script

DEFAULT_ROOT = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
LANG = "conll2002/es"
TWIN = "cpu"  # the preset, and so the twin (`twins.TWINS`), the byte CRF's lines are paired with


def random_run(kind_name: str, root: str) -> runs.Run:
  """A run of `kind_name`'s cpu preset on es with random parameters."""
  config = config_lib.load_config(f"{kind_name}.py:langs={LANG},cpu,root={root}")
  label_map = labels.LabelMap.from_sentences(corpora.load_split(LANG, "train", root))
  kind = kinds.build(config, label_map)
  mesh = step_lib.make_mesh()
  return runs.Run(pathlib.Path("/nonexistent"), "best", 0, config, {"languages": [LANG]},
                  label_map, kind, kind.init_params(jax.random.key(0), mesh), mesh)


def measure(run: runs.Run, lines: list[str], batch_size: int, repeats: int) -> dict[str, float]:
  """The first call (compiling) and `repeats` timed calls after it: sentences/s of the best and
  of the median call, and the first call's extra seconds over the median."""
  start = time.perf_counter()
  run.entities(lines, batch_size=batch_size)
  first = time.perf_counter() - start
  seconds = []
  for _ in range(repeats):
    start = time.perf_counter()
    run.entities(lines, batch_size=batch_size)
    seconds.append(time.perf_counter() - start)
  median = statistics.median(seconds)
  return {"sentences": len(lines), "sentences_per_s": round(len(lines) / min(seconds), 1),
          "median_sentences_per_s": round(len(lines) / median, 1),
          "compile_s": round(max(first - median, 0.0), 2)}


def measure_twin(python: str, root: str, batch_size: int, max_sentences: int, repeats: int
                 ) -> dict[str, object]:
  """The twin's decoding of es test at `batch_size` (`twin_decode.py`): its JSON line."""
  flags = {**twins.TWINS[TWIN].flags(config_lib.load_config(f"byte_crf.py:{TWIN}")),
           "batch_size": batch_size, "max_sentences": max_sentences, "threads": twins.threads(),
           "repeats": repeats}
  return twins.run(python, pathlib.Path(__file__).with_name("twin_decode.py"),
                   [str(twins.PEERS)] + [str(corpora.split_path(LANG, split, root))
                                         for split in ("train", "test")], flags)


def main() -> None:
  host_memory.configure()  # as `polyglot-ner` does
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--root", default=str(DEFAULT_ROOT))
  parser.add_argument("--kinds", default="byte_crf,charner,bts")
  parser.add_argument("--batch_sizes", default="1,32,512")
  parser.add_argument("--workdirs", default="", help="kind=workdir,... (else random parameters)")
  parser.add_argument("--max_sentences_b1", type=int, default=200)
  parser.add_argument("--repeats", type=int, default=5, help="timed calls after the first")
  parser.add_argument("--twin-python", default=sys.executable,
                      help="a Python with torch and pytorch-crf for the byte CRF's twin")
  args = parser.parse_args()
  workdirs = dict(item.split("=", 1) for item in args.workdirs.split(",") if item)
  test = corpora.load_split(LANG, "test", args.root)
  lines = [" ".join(sentence.tokens) for sentence in test]
  for kind_name in args.kinds.split(","):
    run = (runs.load(workdirs[kind_name]) if kind_name in workdirs
           else random_run(kind_name, args.root))
    with_twin = kind_name == "byte_crf"
    if with_twin and (skipped := twins.unavailable(twins.TWINS[TWIN], args.twin_python)):
      print(json.dumps({"benchmark": "entities", "peer": "torch_twin", "skipped": skipped}),
            flush=True)
      with_twin = False
    for batch_size in map(int, args.batch_sizes.split(",")):
      subset = lines[:args.max_sentences_b1] if batch_size == 1 else lines
      print(json.dumps({"benchmark": "entities", "kind": kind_name, "batch_size": batch_size,
                        "device": jax.devices()[0].platform, "trained": kind_name in workdirs,
                        **measure(run, subset, batch_size, args.repeats)}), flush=True)
      if with_twin:
        twin = measure_twin(args.twin_python, args.root, batch_size, len(subset),
                            args.repeats)
        print(json.dumps({"benchmark": "entities", "kind": kind_name, **twin}), flush=True)


if __name__ == "__main__":
  main()
