"""Speed of the CRF kernel: log-likelihood + gradient and Viterbi, both forward algorithms.

Prints one JSON line per measurement (compile time apart from the median run time):

  python benchmarks/crf.py                      # B=128, (T, C) in 40x9, 128x9, 512x17
  python benchmarks/crf.py --shapes 64x9,1024x9 --methods associative
  python benchmarks/crf.py --torch              # also time pytorch-crf's torchcrf.CRF, same CPU

Row lengths are drawn uniformly from [1, T] (one row always full), as in a length-bucketed batch.
`--torch` needs `torch` and `pytorch-crf` importable; neither is a project dependency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from polyglot_ner.models import crf

DEFAULT_SHAPES = "40x9,128x9,512x17"


def parse_shapes(text: str) -> list[tuple[int, int]]:
  """"40x9,512x17" -> [(40, 9), (512, 17)]."""
  shapes = []
  for item in text.split(","):
    steps, x, num_tags = item.partition("x")
    if not (x and steps.isdigit() and num_tags.isdigit()):
      raise argparse.ArgumentTypeError(f"--shapes wants TxC[,TxC...], got {text!r}")
    shapes.append((int(steps), int(num_tags)))
  return shapes


def make_batch(batch: int, steps: int, num_tags: int, seed: int = 0) -> dict[str, np.ndarray]:
  rng = np.random.default_rng(seed)
  lengths = rng.integers(1, steps + 1, batch).astype(np.int32)
  lengths[0] = steps
  return dict(emissions=rng.normal(size=(batch, steps, num_tags)).astype(np.float32),
              tags=rng.integers(0, num_tags, (batch, steps)).astype(np.int32),
              lengths=lengths,
              transitions=rng.normal(size=(num_tags, num_tags)).astype(np.float32))


def median_ms(run, repeats: int, budget_s: float) -> float:
  """Median wall time of `run()` over up to `repeats` calls (at least 3) within `budget_s`."""
  times = []
  started = time.perf_counter()
  while len(times) < repeats and (len(times) < 3 or time.perf_counter() - started < budget_s):
    tick = time.perf_counter()
    run()
    times.append((time.perf_counter() - tick) * 1e3)
  return statistics.median(times)


def jax_ops(method: str):
  """The two measured programs: (name, function of (emissions, tags, lengths, transitions))."""

  def loss(emissions, tags, lengths, transitions):
    return -crf.log_likelihood(emissions, tags, lengths, transitions, method=method).mean()

  gradient = jax.value_and_grad(loss, argnums=(0, 3))
  decode = lambda emissions, tags, lengths, transitions: crf.viterbi(
      emissions, lengths, transitions, method=method)
  return [("log_likelihood_grad", gradient), ("viterbi", decode)]


def time_jax(batch: dict[str, np.ndarray], method: str, repeats: int, budget_s: float):
  args = [jnp.asarray(batch[k]) for k in ("emissions", "tags", "lengths", "transitions")]
  for op, fn in jax_ops(method):
    tick = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_ms = (time.perf_counter() - tick) * 1e3
    jax.block_until_ready(compiled(*args))  # warm-up
    yield op, compile_ms, median_ms(lambda: jax.block_until_ready(compiled(*args)), repeats,
                                    budget_s)


def time_torchcrf(batch: dict[str, np.ndarray], repeats: int, budget_s: float):
  """pytorch-crf's CRF (a Python loop over time) at the same shapes, forward+backward and decode."""
  import torch
  import torchcrf

  num_tags = batch["emissions"].shape[-1]
  layer = torchcrf.CRF(num_tags, batch_first=True)
  with torch.no_grad():
    layer.transitions.copy_(torch.from_numpy(batch["transitions"]))
  emissions = torch.from_numpy(batch["emissions"]).requires_grad_()
  tags = torch.from_numpy(batch["tags"]).long()
  steps = emissions.shape[1]
  mask = torch.arange(steps)[None, :] < torch.from_numpy(batch["lengths"])[:, None]

  def gradient():
    layer.zero_grad()
    emissions.grad = None
    (-layer(emissions, tags, mask, reduction="mean")).backward()

  def decode():
    with torch.no_grad():
      layer.decode(emissions, mask)

  for op, run in (("log_likelihood_grad", gradient), ("viterbi", decode)):
    run()  # warm-up
    yield op, median_ms(run, repeats, budget_s)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--batch", type=int, default=128)
  parser.add_argument("--shapes", type=parse_shapes, default=parse_shapes(DEFAULT_SHAPES),
                      help=f"comma-separated TxC (default {DEFAULT_SHAPES})")
  parser.add_argument("--methods", default=",".join(crf.METHODS),
                      help="comma-separated subset of " + ",".join(crf.METHODS))
  parser.add_argument("--repeats", type=int, default=20, help="most timed calls per measurement")
  parser.add_argument("--budget-s", type=float, default=3.0,
                      help="stop timing a measurement after this long (3 calls at least)")
  parser.add_argument("--torch", action="store_true", help="also time torchcrf.CRF on the CPU")
  parser.add_argument("--torch-threads", type=int, default=1,
                      help="torch intra-op threads (default 1: torch's OpenMP pool slows down "
                           "several-fold on a shared, oversubscribed CPU)")
  args = parser.parse_args(argv)
  methods = args.methods.split(",")
  if unknown := set(methods) - set(crf.METHODS):
    parser.error(f"unknown --methods {sorted(unknown)}; choose from {crf.METHODS}")
  if args.torch:
    try:
      import torch
      import torchcrf  # noqa: F401
    except ImportError as error:
      parser.error(f"--torch needs torch and pytorch-crf importable ({error})")
    torch.set_num_threads(args.torch_threads)

  for steps, num_tags in args.shapes:
    batch = make_batch(args.batch, steps, num_tags)
    common = dict(benchmark="crf", B=args.batch, T=steps, C=num_tags)
    for method in methods:
      for op, compile_ms, ms in time_jax(batch, method, args.repeats, args.budget_s):
        print(json.dumps(dict(common, impl="polyglot_ner", op=op, method=method,
                              compile_ms=round(compile_ms, 1), median_ms=round(ms, 3),
                              backend=jax.default_backend())), flush=True)
    if args.torch:
      for op, ms in time_torchcrf(batch, args.repeats, args.budget_s):
        print(json.dumps(dict(common, impl="torchcrf", op=op, method="python_loop",
                              compile_ms=None, median_ms=round(ms, 3), backend="cpu",
                              threads=torch.get_num_threads())), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
