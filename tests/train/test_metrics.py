"""metrics.jsonl: records, strict JSON, and resumption dropping the interrupted tail."""

import json

import pytest

from polyglot_ner.train import metrics


def _records(workdir):
  return [json.loads(line) for line in (workdir / metrics.METRICS_FILE).read_text().splitlines()]


def test_records_are_json_lines_with_step_and_kind(tmp_path):
  writer = metrics.MetricWriter(tmp_path)
  writer.write(1, "train", {"loss": 2.5})
  writer.write(2, "dev", {"macro_f1": 0.5, "per_language": {"x/a": {"f1": 0.5}}})
  writer.write(3, "train", {"loss": float("nan")})
  writer.close()
  records = _records(tmp_path)
  assert [(r["step"], r["kind"]) for r in records] == [(1, "train"), (2, "dev"), (3, "train")]
  assert records[1]["per_language"]["x/a"]["f1"] == 0.5
  assert records[2]["loss"] == "nan"


def test_resuming_drops_records_past_the_resumed_step(tmp_path):
  writer = metrics.MetricWriter(tmp_path)
  for step in range(1, 6):
    writer.write(step, "train", {"loss": float(step)})
  writer.close()
  writer = metrics.MetricWriter(tmp_path, resume_step=3)
  writer.write(4, "train", {"loss": 40.0})
  writer.close()
  assert [(r["step"], r["loss"]) for r in _records(tmp_path)] == [(1, 1.0), (2, 2.0), (3, 3.0),
                                                                  (4, 40.0)]


def test_disabled_writer_writes_nothing(tmp_path):
  writer = metrics.MetricWriter(tmp_path / "w", enabled=False)
  writer.write(1, "train", {"loss": 1.0})
  writer.close()
  assert not (tmp_path / "w").exists()


def test_flatten_keeps_numbers_only():
  assert metrics.flatten({"a": 1, "b": {"c": 2.5, "d": "x", "e": True}}) == {"a": 1.0, "b/c": 2.5}


def test_progress_counts_sentences_and_tokens():
  progress = metrics.Progress(total_steps=4, initial_step=0, enabled=False)
  progress.update(sentences=3, tokens=30, loss=1.0)
  progress.update(sentences=5, tokens=20)
  rates = progress.rates()
  assert rates["tokens_per_s"] / rates["sentences_per_s"] == pytest.approx(50 / 8)
  progress.close()
