"""The analysis wired to real checkpoints: a tiny demo experiment (mono, polyglot, fine-tuned
children) analysed end to end, the byte CRF's per-example Fisher against a per-sentence loop, and
the runs API's masks, pruned runs and scores."""

import json

import jax
import numpy as np
import pytest

from polyglot_ner import config as config_lib
from polyglot_ner import errors
from polyglot_ner import runs
from polyglot_ner.analysis import layout
from polyglot_ner.analysis import masks
from polyglot_ner.analysis import runs_analysis
from polyglot_ner.study import experiment

LANGS = ("demo/aa", "demo/bb")


@pytest.fixture(scope="module")
def demo_experiment(tmp_path_factory):
  """The workdir of a tiny demo experiment: one epoch of 32 sentences per run, tiny models (the
  programs of tests/conftest.py's tiny config), no transfer scores."""
  config = config_lib.load_config("experiment.py:langs=demo/aa+demo/bb,epochs=1,ft_epochs=1,"
                                    "samples=20")
  config.train.update(dict(
      model=dict(byte_emb_dim=8, byte_hidden=8, word_hidden=16),
      data=dict(max_word_bytes=16, byte_buckets=(16,), length_buckets=(32,),
                max_train_sentences=32),
      batch_size=16, eval_batch_size=32, optimizer=dict(learning_rate=1e-2)))
  config.transfer = False
  workdir = tmp_path_factory.mktemp("experiment")
  experiment.run_experiment(config, workdir)
  return workdir


def test_the_runs_are_found_from_their_checkpoints(demo_experiment):
  found = runs_analysis.find_runs(demo_experiment)
  seed = demo_experiment / "byte_crf" / "seed0"
  assert found.languages == LANGS and found.polyglot == seed / "demo_aa+demo_bb"
  assert found.mono == {lang: seed / lang.replace("/", "_") for lang in LANGS}
  assert found.children == {lang: seed / f"demo_aa+demo_bb.ft-{lang.replace('/', '_')}"
                            for lang in LANGS}
  one = runs_analysis.find_runs(seed / "demo_aa")
  assert (one.languages, one.mono, one.children) == (("demo/aa",), {}, {})
  with pytest.raises(errors.UserError, match="no byte_crf polyglot run of seed 3"):
    runs_analysis.find_runs(demo_experiment, run_seed=3)


def test_a_demo_experiment_is_analysed_end_to_end(demo_experiment, tmp_path):
  result = runs_analysis.analyze(demo_experiment, tmp_path, fractions=(0.05, 0.2),
                                 max_sentences=12, chunk_size=8, progress=False)
  assert set(result.importances) == {"polyglot", "mono"}
  assert [(o.setting, o.languages) for o in result.overlaps] == [("polyglot", LANGS),
                                                                  ("mono", LANGS)]
  assert [s.child for s in result.shifts] == list(LANGS)
  assert result.pruning.languages == LANGS and len(result.pruning.rows) == 2 * (2 * 2 + 1)
  numbers = json.loads((tmp_path / "analysis.json").read_text())
  assert numbers["meta"]["sentences per language"] == {lang: 12 for lang in LANGS}
  markdown = (tmp_path / "analysis.md").read_text()
  for section in ("(polyglot, fisher)", "(mono, fisher)", "## Pruning", "## Fine-tuning shift"):
    assert section in markdown
  for figure in ("jaccard_polyglot_fisher.png", "pruning_damage.png", "shift_overlap.png"):
    assert (tmp_path / figure).stat().st_size > 0 and f"]({figure})" in markdown


def test_byte_crf_fisher_equals_a_per_sentence_loop(demo_experiment):
  run = runs.load(demo_experiment / "byte_crf" / "seed0" / "demo_aa+demo_bb")
  got = run.importance(languages="demo/bb", max_sentences=6, chunk_size=8, progress=False)
  sentences = run.sentences("demo/bb", max_sentences=6)
  assert list(got) == ["demo/bb"] and len(sentences) == 6
  log_likelihood = run.log_likelihood(sentences, "demo/bb")

  def gold_log_likelihood(params, batch):
    return -run.kind.loss(params, batch, None, train=False)[0][0]

  value_and_grad = jax.jit(jax.value_and_grad(gold_log_likelihood))
  squares = []
  for sentence, expected in zip(sentences, log_likelihood):
    # The sentence alone in a batch of 4 rows sharing one word table: another layout.
    batch = next(iter(run.kind.eval_batches([sentence], lang=run.lang_id("demo/bb"),
                                            batch_size=4, num_shards=1)))
    value, grad = value_and_grad(run.params, batch)
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    squares.append(jax.tree.map(np.square, grad))
  fisher = jax.tree.map(lambda *leaves: np.mean(leaves, axis=0), *squares)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-9),
               got["demo/bb"]["fisher"], fisher)


def test_masks_prune_exactly_the_count_and_pruned_runs_score(demo_experiment):
  run = runs.load(demo_experiment / "byte_crf" / "seed0" / "demo_aa+demo_bb")
  importance = run.importance(max_sentences=4, chunk_size=8, progress=False)
  assert list(importance) == list(LANGS)
  params = jax.device_get(run.params)
  shape = layout.Layout.of(params)
  selected = run.masks(importance["demo/aa"]["fisher"], [0.05, 0.2])
  pruned = run.pruned(selected[0.2])
  for k, mask in selected.items():
    assert shape.vector(mask).sum() == masks.count(k, shape.size)
  mask = shape.vector(selected[0.2])
  before, after = shape.vector(params), shape.vector(jax.device_get(pruned.params))
  assert np.all(after[mask] == 0) and np.array_equal(after[~mask], before[~mask])
  score = run.scorer(split="test")
  assert score(run.params) == {
      lang: s["f1"] for lang, s in run.evaluate(split="test")["per_language"].items()}
  assert pruned.scores(split="test") == score(pruned.params) != score(run.params)
  with pytest.raises(errors.UserError, match="layout"):
    run.with_params({"other": np.zeros(3)})
