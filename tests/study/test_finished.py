"""A workdir's run against a wanted config: unfinished, finished, or finished with another config."""

import json

import ml_collections

from polyglot_ner.study import finished as finished_runs


def config(**values):
  base = dict(seed=0, num_epochs=3, log_every_steps=50, optimizer=dict(learning_rate=1e-3),
              data=dict(langs={"a/b": 1.0}, root=""))
  base.update(values)
  return ml_collections.ConfigDict(base)


def test_status(tmp_path):
  assert finished_runs.status(tmp_path, config()) == finished_runs.Status(None)
  (tmp_path / "results.json").write_text(json.dumps({"config": json.loads(config().to_json())}))
  assert finished_runs.status(tmp_path, config()).finished
  # Logging and the data root do not change what is computed.
  assert finished_runs.status(tmp_path, config(log_every_steps=7,
                                               data=dict(langs={"a/b": 1.0}, root="/x"))).finished
  stale = finished_runs.status(tmp_path, config(num_epochs=20,
                                                data=dict(langs={"a/b": 2.0}, root="")))
  assert stale.stale and not stale.finished
  assert stale.differences == ("data.langs: {'a/b': 1.0} -> {'a/b': 2.0}", "num_epochs: 3 -> 20")
