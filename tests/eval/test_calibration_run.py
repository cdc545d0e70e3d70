"""`run.calibrate`: a temperature fitted on dev, stored with the checkpoint, applied by
`run.entities`, with its reliability diagram."""

import json
import shutil

import numpy as np

from polyglot_ner import runs
from polyglot_ner.eval import entities


def test_calibrate_stores_a_temperature_that_entities_apply(trained_run, tmp_path):
  _, workdir, _ = trained_run
  copy = tmp_path / "run"
  shutil.copytree(workdir, copy)
  run = runs.load(copy)
  raw = run.entities(["Ana vive en Lima .", "Juan Pérez trabaja en la ONU ."])
  result = run.calibrate(plot=tmp_path / "reliability.png")
  assert (tmp_path / "reliability.png").stat().st_size > 0
  stored = json.loads((copy / entities.CALIBRATION_FILE).read_text())
  assert stored["temperature"] == result["temperature"] == runs.load(copy).temperature
  assert 0.0 <= result["before"]["ece"] <= 1.0 and result["before"]["entities"] > 0
  held_out = result["held_out"]
  assert held_out["split"] == "test" and held_out["before"]["entities"] > 0
  assert held_out["after"]["entities"] == held_out["before"]["entities"]
  calibrated = runs.load(copy).entities(["Ana vive en Lima .", "Juan Pérez trabaja en la ONU ."])
  for before, after in zip(sum(raw, []), sum(calibrated, [])):
    assert {k: v for k, v in before.items() if k != "score"} == {
        k: v for k, v in after.items() if k != "score"}
    np.testing.assert_allclose(
        after["score"], entities.calibrate(np.array([before["score"]]), stored["temperature"])[0],
        atol=1e-5)
