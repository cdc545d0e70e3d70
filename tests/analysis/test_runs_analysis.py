"""The analysis wired to real checkpoints: tiny demo experiments of every model kind (mono,
polyglot, fine-tuned children; the byte CRF's with monolingual runs of a second seed in a folder
below) analysed end to end, each kind's per-example Fisher against a per-row loop, and the runs
API's masks, pruned runs and scores."""

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
KINDS = ("byte_crf", "charner", "bts")
# Tiny models of the other kinds (demo sentences have at most 89 bytes: one padded shape).
TINY_TRAIN = {
    "charner": dict(model=dict(emb_dim=8, hidden=8, output_dropout=(0.1, 0.1)),
                    data=dict(length_buckets=(96,))),
    "bts": dict(model=dict(window=32, byte_emb_dim=8, num_layers=1, hidden=16, output_emb_dim=8,
                           max_spans=8),
                data=dict(eval_stride=16, span_buckets=(8,)), optimizer=dict(name="adam")),
}


def train(arg, workdir, stages=experiment.STAGES, **train):
  """Trains `stages` of the experiment `configs/experiment.py:langs=demo/aa+demo/bb,<arg>` in
  `workdir`: 32 sentences per language at a high rate, no transfer scores; `train` updates the
  runs' config."""
  config = config_lib.load_config(f"experiment.py:langs=demo/aa+demo/bb,samples=20,{arg}")
  config.train.update(dict(data=dict(max_train_sentences=32), batch_size=16, eval_batch_size=32,
                           optimizer=dict(learning_rate=1e-2)))
  config.train.update(train)
  config.stages, config.transfer = stages, False
  experiment.run_experiment(config, workdir)


@pytest.fixture(scope="module")
def demo_experiment(tmp_path_factory):
  """The workdir of a tiny byte CRF demo experiment, tiny models (the programs of
  tests/conftest.py's tiny config), with monolingual runs of seed 1 trained by a second
  experiment of the same config (`--config.stages=mono`, README) in `mono_seeds/`."""
  workdir = tmp_path_factory.mktemp("experiment")
  tiny = dict(model=dict(byte_emb_dim=8, byte_hidden=8, word_hidden=16),
              data=dict(max_word_bytes=16, byte_buckets=(16,), length_buckets=(32,)))
  train("epochs=1,ft_epochs=1", workdir, **tiny)
  train("epochs=1,seeds=1", workdir / "mono_seeds", ("mono",), **tiny)
  return workdir


@pytest.fixture(scope="module")
def experiments(demo_experiment, tmp_path_factory):
  """`experiments(kind)`: the workdir of a tiny demo experiment of that model kind (two steps a
  run), trained when first asked for."""
  trained = {"byte_crf": demo_experiment}

  def get(kind):
    if kind not in trained:
      trained[kind] = tmp_path_factory.mktemp(kind)
      train(f"model={kind},budget=steps,steps=2", trained[kind], **TINY_TRAIN[kind])
    return trained[kind]

  return get


def test_the_runs_are_found_from_their_checkpoints(demo_experiment):
  found = runs_analysis.find_runs(demo_experiment)
  seed = demo_experiment / "byte_crf" / "seed0"
  seed1 = demo_experiment / "mono_seeds" / "byte_crf" / "seed1"
  assert found.languages == LANGS and found.polyglot == seed / "demo_aa+demo_bb"
  assert found.mono == {s: {lang: folder / lang.replace("/", "_") for lang in LANGS}
                        for s, folder in ((0, seed), (1, seed1))}
  assert found.children == {lang: seed / f"demo_aa+demo_bb.ft-{lang.replace('/', '_')}"
                            for lang in LANGS}
  one = runs_analysis.find_runs(seed / "demo_aa")
  assert (one.languages, one.mono, one.children) == (("demo/aa",), {}, {})
  with pytest.raises(errors.UserError, match="no byte_crf polyglot run of seed 1"):
    runs_analysis.find_runs(demo_experiment, run_seed=1)


def test_a_demo_experiment_is_analysed_end_to_end(demo_experiment, tmp_path):
  result = runs_analysis.analyze(demo_experiment, tmp_path, fractions=(0.05, 0.2),
                                 max_sentences=12, chunk_size=8, progress=False)
  assert set(result.importances) == {"polyglot", "mono", "mono_seed1", "finetuned"}
  assert [(o.setting, o.languages) for o in result.overlaps] == [("polyglot", LANGS),
                                                                  ("mono", LANGS)]
  assert result.seeds.runs == tuple((lang, s) for s in (0, 1) for lang in LANGS)
  assert [s.child for s in result.shifts] == list(LANGS)
  assert result.finetune.children == LANGS
  assert result.pruning.languages == LANGS and len(result.pruning.rows) == 2 * (2 * 2 + 1)
  numbers = json.loads((tmp_path / "analysis.json").read_text())
  assert numbers["meta"]["sentences per language"] == {lang: 12 for lang in LANGS}
  assert numbers["meta"]["examples per language"] == {lang: 12 for lang in LANGS}
  assert "linear-chain CRF" in numbers["meta"]["Fisher example"]
  seeds = numbers["mono_seeds"]
  for kind, pairs in (("same_language", [(0, 2), (1, 3)]), ("same_seed", [(0, 1), (2, 3)]),
                      ("neither", [(0, 3), (1, 2)])):
    assert seeds["mean_jaccard"][kind] == pytest.approx(
        [np.mean([matrix[a][b] for a, b in pairs]) for matrix in seeds["jaccard"]])
  assert len(numbers["finetune_importance"]["coverage"]) == 2
  markdown = (tmp_path / "analysis.md").read_text()
  for section in ("(polyglot, fisher)", "(mono, fisher)", "## Monolingual baseline across seeds",
                  "## Pruning", "## Fine-tuning shift", "## Fine-tuned children's own importance"):
    assert section in markdown
  for figure in ("jaccard_polyglot_fisher.png", "seeds_fisher.png", "pruning_damage.png",
                 "shift_overlap.png", "finetune_importance.png"):
    assert (tmp_path / figure).stat().st_size > 0 and f"]({figure})" in markdown


@pytest.mark.parametrize("kind", KINDS[1:])
def test_every_model_kind_is_analysed_end_to_end(experiments, kind, tmp_path):
  workdir = experiments(kind)
  result = runs_analysis.analyze(workdir, tmp_path, fractions=(0.05, 0.2),
                                 pruning_fractions=(0.2,), max_sentences=6, chunk_size=8,
                                 progress=False)
  assert set(result.importances) == {"polyglot", "mono", "finetuned"}
  assert result.seeds is None and result.finetune.children == LANGS
  numbers = json.loads((tmp_path / "analysis.json").read_text())
  meta = numbers["meta"]
  assert meta["model kind"] == kind and meta["Fisher example"] == runs.load(
      workdir / kind / "seed0" / "demo_aa").kind.row_likelihood
  # A BTS example is a window of the byte stream: more of them than sentences.
  more = meta["examples per language"]["demo/aa"] > meta["sentences per language"]["demo/aa"]
  assert more == (kind == "bts")
  markdown = (tmp_path / "analysis.md").read_text()
  assert f"* Fisher example: {meta['Fisher example']}" in markdown
  assert "the reading that fine-tuning utilises a large number of the shared parameters" in markdown


@pytest.mark.parametrize("kind", KINDS)
def test_the_fisher_equals_a_per_row_loop(experiments, kind):
  """Each row's squared gradient of its whole log-likelihood (the kind's loss times its weight),
  here from batches of 4 rows in one block: another layout than the analysis's one-row blocks."""
  run = runs.load(experiments(kind) / kind / "seed0" / "demo_aa+demo_bb")
  got = run.importance(languages="demo/bb", max_sentences=6, chunk_size=8, progress=False)
  sentences = run.sentences("demo/bb", max_sentences=6)
  assert list(got) == ["demo/bb"] and len(sentences) == 6

  def row_log_likelihood(params, batch, row):
    loss, weight = run.kind.loss(params, batch, None, train=False)
    return -loss[row] * weight[row].astype(loss.dtype)

  value_and_grad = jax.jit(jax.value_and_grad(row_log_likelihood))
  values, squares = {}, []
  data = run.kind.eval_batches(sentences, lang=run.lang_id("demo/bb"), batch_size=4,
                               num_shards=1)
  for batch, indices in zip(data, data.indices):
    for row in np.flatnonzero(indices >= 0):
      values[indices[row]], grad = value_and_grad(run.params, batch, row)
      squares.append(jax.tree.map(np.square, grad))
  if not run.kind.windowed:  # a row is a sentence
    np.testing.assert_allclose([values[i] for i in range(len(sentences))],
                               run.log_likelihood(sentences, "demo/bb"), rtol=1e-5)
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
