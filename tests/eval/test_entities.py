"""Entities from tags and their calibration: offsets, ECE, temperature scaling, the diagram."""

import json

import numpy as np

from polyglot_ner.eval import entities


def test_from_tags_gives_offsets_text_and_scores():
  line = "  Juan Pérez vive en Nueva  York."
  offsets = [(2, 6), (7, 12), (13, 17), (18, 20), (21, 26), (28, 32), (32, 33)]
  tags = ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC", "O"]
  found = entities.from_tags(line, offsets, tags, [0.9, 0.5])
  assert found == [{"start": 2, "end": 12, "type": "PER", "text": "Juan Pérez", "score": 0.9},
                   {"start": 21, "end": 32, "type": "LOC", "text": "Nueva  York", "score": 0.5}]
  sharper = entities.from_tags(line, offsets, tags, [0.9, 0.5], temperature=0.5)
  assert sharper[0]["score"] > 0.9 and sharper[1]["score"] == 0.5


def test_ece_of_perfect_and_overconfident_scores():
  correct = np.array([True] * 8 + [False] * 2)
  assert entities.reliability(np.full(10, 0.8), correct)["ece"] < 1e-12
  curve = entities.reliability(np.full(10, 0.99), correct)
  assert abs(curve["ece"] - 0.19) < 1e-9 and curve["counts"][9] == 10


def test_temperature_fits_overconfident_scores(tmp_path):
  rng = np.random.default_rng(0)
  truth = rng.uniform(0.05, 0.95, 4000)
  correct = rng.random(4000) < truth
  overconfident = entities.calibrate(truth, 0.5)  # logits doubled
  temperature = entities.fit_temperature(overconfident, correct)
  assert abs(temperature - 2.0) < 0.2
  before = entities.reliability(overconfident, correct)["ece"]
  after = entities.reliability(entities.calibrate(overconfident, temperature), correct)
  assert after["ece"] < before / 2
  entities.plot_reliability({"before": entities.reliability(overconfident, correct),
                             "after": after}, str(tmp_path / "r.png"))
  assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_stored_temperature_is_per_checkpoint(tmp_path):
  assert entities.stored_temperature(tmp_path, "best", 7) == 1.0
  (tmp_path / entities.CALIBRATION_FILE).write_text(
      json.dumps({"checkpoint": "best", "step": 7, "temperature": 1.5}))
  assert entities.stored_temperature(tmp_path, "best", 7) == 1.5
  assert entities.stored_temperature(tmp_path, "best", 8) == 1.0


def test_correctness_is_exact_span_and_type():
  scores, correct = entities.correctness(
      [["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "O", "O", "B-LOC"]], [[0.7, 0.6]])
  assert scores.tolist() == [0.7, 0.6] and correct.tolist() == [False, True]

