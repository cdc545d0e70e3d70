"""The PyTorch twins (`../shared/peers/`) as the benchmarks run them: each `cpu` preset's twin and
its size flags, and a twin script run under an interpreter that has torch, or the reason it cannot
be (the benchmark then prints a line saying why instead of the twin's numbers).

A twin needs torch, seqeval (and pytorch-crf for the byte CRF's), never project dependencies:
`--twin-python` of `train_step.py` and `predict.py` names an interpreter that has them.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import json
import os
import pathlib
import subprocess

import ml_collections

REPO = pathlib.Path(__file__).resolve().parents[1]
PEERS = REPO.parent / "shared" / "peers"


@dataclasses.dataclass(frozen=True)
class Twin:
  """A PyTorch twin of one preset: its script in `PEERS`, the modules it imports, the key of its
  JSON line that holds rows/s, and its size flags from the preset's config."""

  script: str
  modules: str
  rate_key: str
  flags: Callable[[ml_collections.ConfigDict], dict[str, object]]


TWINS = {
    "cpu": Twin("torch_twin.py", "torch, torchcrf, seqeval", "train_sent_per_s", lambda c: {
        "byte_layers": c.model.byte_layers, "byte_hidden": c.model.byte_hidden,
        "byte_emb": c.model.byte_emb_dim, "max_bytes": c.data.max_word_bytes,
        "word_hidden": c.model.word_hidden}),
    "charner_cpu": Twin("charner_twin.py", "torch, seqeval", "train_sent_per_s", lambda c: {
        "emb": c.model.emb_dim, "hidden": c.model.hidden, "layers": len(c.model.output_dropout),
        "dropout": c.model.output_dropout[-1], "max_len": max(c.data.length_buckets)}),
    "bts_cpu": Twin("bts_twin.py", "torch, seqeval", "train_windows_per_s", lambda c: {
        "emb": c.model.byte_emb_dim, "hidden": c.model.hidden, "layers": c.model.num_layers,
        "out_emb": c.model.output_emb_dim}),
}


def threads() -> int:
  """The cores this process may run on: the twin's `--threads`, as many as ours uses."""
  return len(os.sched_getaffinity(0))


def unavailable(twin: Twin, python: str) -> str | None:
  """Why `twin` cannot run under `python` (its script or one of its modules is missing), else
  None."""
  script = PEERS / twin.script
  check = subprocess.run([python, "-c", f"import {twin.modules}"], capture_output=True)
  if check.returncode or not script.exists():
    return f"needs {script} and {twin.modules} in {python}"
  return None


def run(python: str, script: pathlib.Path, args: list[str], flags: dict[str, object]
        ) -> dict[str, object]:
  """The JSON line that `script` (a twin or a driver of one) prints when run under `python` with
  `args` and `--name value` for each of `flags`."""
  command = [python, str(script), *args]
  command += [arg for name, value in flags.items() for arg in (f"--{name}", str(value))]
  return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
