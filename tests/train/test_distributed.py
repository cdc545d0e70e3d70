"""Two CPU processes joined by `jax.distributed` train exactly what one process trains.

Each process runs `polyglot-ner train` with two local CPU devices; the coordinator is on
127.0.0.1 and `polyglot_ner.train.distributed` joins them from the JAX_COORDINATOR_ADDRESS /
JAX_NUM_PROCESSES / JAX_PROCESS_ID environment. Their mesh has the four devices of the one-process
reference (this test process), so the global batches, their per-device blocks and the dropout keys
are the same, and the parameters must agree up to the order of the cross-process sums. Each process
packs only its own devices' rows of every batch, and counts them (`train_rows_per_process`).
"""

import json
import os
import pathlib
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from polyglot_ner import runs
from polyglot_ner.train import checkpoint as checkpoint_lib

REPO = pathlib.Path(__file__).resolve().parents[2]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _params(workdir, slot):
  return jax.tree.map(np.asarray, runs.load(workdir, slot).params)


def _records(workdir):
  return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow  # ~50 s: two fresh JAX processes, each compiling the programs again
def test_two_processes_train_the_parameters_of_one(trained_run, tiny_flags, tmp_path):
  _, reference_dir, reference = trained_run
  assert jax.device_count() == 4
  workdir = tmp_path / "two_processes"
  env = {**os.environ, "JAX_PLATFORMS": "cpu",
         "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
         "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{_free_port()}", "JAX_NUM_PROCESSES": "2"}
  command = [sys.executable, "-m", "polyglot_ner", "train", *tiny_flags(), f"--workdir={workdir}"]
  logs = [tmp_path / f"process{i}.log" for i in range(2)]
  processes = []
  try:
    for i, log in enumerate(logs):
      with open(log, "w") as out:
        processes.append(subprocess.Popen(command, cwd=REPO, env={**env, "JAX_PROCESS_ID": str(i)},
                                          stdout=out, stderr=subprocess.STDOUT))
    codes = [process.wait(timeout=300) for process in processes]
  finally:
    for process in processes:
      if process.poll() is None:
        process.kill()
  assert codes == [0, 0], "\n\n".join(log.read_text()[-3000:] for log in logs)

  for slot in checkpoint_lib.SLOTS:
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=0, atol=1e-5),
                 _params(workdir, slot), _params(reference_dir, slot))
  results = json.loads((workdir / "results.json").read_text())
  assert results["best_step"] == reference["best_step"]
  assert [e["step"] for e in results["dev_history"]] == [e["step"] for e in
                                                         reference["dev_history"]]
  np.testing.assert_allclose(results["test"]["macro_f1"], reference["test"]["macro_f1"], atol=1e-3)
  # Each process packed only its devices' rows of every batch: about half of each language's.
  assert reference["train_rows_per_process"].keys() == results["train_rows_per_process"].keys()
  for name, (everything,) in reference["train_rows_per_process"].items():
    assert everything == 2 * 64  # two epochs of the tiny config's 64 sentences
    first, second = results["train_rows_per_process"][name]
    assert first + second == everything and abs(first - second) <= everything // 4, (name, first,
                                                                                      second)
  # Only process 0 writes metrics: one record per logging step, as in the one-process run.
  assert [(r["kind"], r["step"]) for r in _records(workdir)] == [
      (r["kind"], r["step"]) for r in _records(reference_dir)]
