"""End-to-end training on the demo corpus: smoke, learning, checkpoints, resume, failures."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from polyglot_ner.train import checkpoint as checkpoint_lib
from polyglot_ner.train import inference
from polyglot_ner.train import loop
from polyglot_ner.train import step as step_lib
from polyglot_ner.models import registry

REPO = pathlib.Path(__file__).resolve().parents[2]
STEPS_PER_EPOCH = 8  # the tiny config: 2 languages x 64 sentences / batch 16


def _params(workdir, config, kind=checkpoint_lib.LATEST):
  label_map = json.loads((workdir / loop.LABEL_MAP_FILE).read_text())["tags"]
  model = registry.get_model(config.model_kind, config.model, len(label_map))
  target = inference.abstract_params(model, step_lib.make_mesh())
  return checkpoint_lib.Checkpoints(workdir).restore_params(kind, target)


def test_one_step_end_to_end(tmp_path, tiny_config):
  config = tiny_config(**{"data.max_train_sentences": 8, "num_epochs": 1})  # 16 sentences: 1 step
  results = loop.train_and_evaluate(config, tmp_path)
  assert results["steps"] == 1 and results["best_step"] == 1
  assert results["stop_reason"] == "max_epochs"
  assert set(results["test"]["per_language"]) == {"demo/aa", "demo/bb"}
  assert 0.0 <= results["test"]["macro_f1"] <= 1.0
  assert checkpoint_lib.Checkpoints(tmp_path).step(checkpoint_lib.BEST) == 1
  assert json.loads((tmp_path / loop.RESULTS_FILE).read_text())["steps"] == 1


def test_few_steps_learn_and_leave_a_complete_workdir(trained_run):
  config, workdir, results = trained_run
  total = 2 * STEPS_PER_EPOCH
  assert results["steps"] == total
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  train = [r for r in records if r["kind"] == "train"]
  assert [r["step"] for r in train] == list(range(2, total + 1, 2))
  assert np.mean([r["loss"] for r in train[-2:]]) < 0.7 * np.mean([r["loss"] for r in train[:2]])
  dev = [r for r in records if r["kind"] == "dev"]
  assert [r["step"] for r in dev] == [STEPS_PER_EPOCH, total]
  assert [e["step"] for e in results["dev_history"]] == [STEPS_PER_EPOCH, total]
  best = max(results["dev_history"], key=lambda e: e["macro_f1"])
  assert results["best_step"] == best["step"]
  assert results["dev"]["macro_f1"] == best["macro_f1"]
  checkpoints = checkpoint_lib.Checkpoints(workdir)
  assert checkpoints.step(checkpoint_lib.LATEST) == total
  assert checkpoints.step(checkpoint_lib.BEST) == best["step"]
  meta = checkpoints.meta(checkpoint_lib.BEST)
  assert meta["languages"] == ["demo/aa", "demo/bb"] and meta["model_kind"] == "byte_crf"
  assert meta["label_map"]["tags"][0] == "O" and meta["config"]["batch_size"] == 16
  assert meta["git_revision"] and meta["parent"] is None
  for lang in ("demo_aa", "demo_bb"):
    assert (workdir / "predictions" / "test" / f"{lang}.txt").exists()


def test_rerun_of_a_finished_run_returns_its_results(trained_run):
  config, workdir, results = trained_run
  assert loop.train_and_evaluate(config, workdir) == json.loads(json.dumps(results))


def test_interrupted_run_resumes_to_identical_parameters(trained_run, tmp_path, interrupt_at):
  config, reference_dir, reference = trained_run
  with interrupt_at(STEPS_PER_EPOCH + 2):  # mid-epoch 2, latest checkpoint at step 9
    loop.train_and_evaluate(config, tmp_path)
  assert checkpoint_lib.Checkpoints(tmp_path).step(checkpoint_lib.LATEST) == 9

  resumed = loop.train_and_evaluate(config, tmp_path)
  for kind in checkpoint_lib.KINDS:
    expected, actual = _params(reference_dir, config, kind), _params(tmp_path, config, kind)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)),
                 expected, actual)
  assert resumed["test"] == reference["test"]
  assert resumed["dev_history"] == reference["dev_history"]
  steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()
           if json.loads(line)["kind"] == "train"]
  assert steps == sorted(set(steps))  # the interrupted run's records past step 9 were dropped


def test_resume_with_another_config_is_refused(trained_run, tiny_config):
  config, workdir, _ = trained_run
  other = tiny_config(**{"optimizer.learning_rate": 0.5})
  with pytest.raises(ValueError, match=r"optimizer\.learning_rate: 0\.01 -> 0\.5"):
    loop.train_and_evaluate(other, workdir)


def test_non_finite_loss_names_the_step_and_languages(tmp_path, tiny_config):
  config = tiny_config(**{"optimizer.learning_rate": float("inf")})
  with pytest.raises(FloatingPointError,
                     match=r"non-finite training loss nan at step 2; .*'demo/aa', 'demo/bb'"):
    loop.train_and_evaluate(config, tmp_path)


def test_batch_not_divisible_by_devices_is_an_error(tmp_path, tiny_config):
  assert jax.device_count() == 4
  with pytest.raises(ValueError, match="global batch size 6 is not divisible by the 4 devices"):
    loop.train_and_evaluate(tiny_config(batch_size=6), tmp_path)


@pytest.mark.slow
def test_run_killed_with_sigkill_resumes_to_identical_parameters(tmp_path, tiny_config,
                                                                 tiny_flags):
  epochs = 6
  reference_dir = tmp_path / "reference"
  config = tiny_config(num_epochs=epochs)
  reference = loop.train_and_evaluate(config, reference_dir)

  workdir = tmp_path / "killed"
  command = [sys.executable, "-m", "polyglot_ner", "train", *tiny_flags(num_epochs=epochs),
             f"--workdir={workdir}"]
  env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": jax.config.jax_compilation_cache_dir,
         "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
  process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
  latest = workdir / "checkpoints" / "latest"
  deadline = time.time() + 300
  while not (latest.is_dir() and any(p.name.isdigit() and int(p.name) >= 6 for p in latest.iterdir())):
    assert process.poll() is None, "the training process ended before it could be killed"
    assert time.time() < deadline, "no checkpoint after 300 s"
    time.sleep(0.01)
  process.send_signal(signal.SIGKILL)
  assert process.wait() == -signal.SIGKILL
  killed_at = checkpoint_lib.Checkpoints(workdir).step(checkpoint_lib.LATEST)
  assert 6 <= killed_at < epochs * STEPS_PER_EPOCH

  resumed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  for kind in checkpoint_lib.KINDS:
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)),
                 _params(reference_dir, config, kind), _params(workdir, config, kind))
  assert json.loads((workdir / loop.RESULTS_FILE).read_text())["test"] == reference["test"]
