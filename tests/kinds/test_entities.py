"""`run.entities` for every kind (`base.ScoresEntities`): character offsets, the spans of the tags
`run.tag` gives, scores that are probabilities, and long lines tagged whole. Random-init tiny
models: what is checked holds for any parameters."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from polyglot_ner import config as config_lib
from polyglot_ner import kinds
from polyglot_ner import runs
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import labels
from polyglot_ner.data import tags as tags_lib
from polyglot_ner.data import tokenize
from polyglot_ner.kinds import base
from polyglot_ner.kinds.byte_crf import batches as word_batches
from polyglot_ner.kinds.charner import decode
from polyglot_ner.models import crf
from polyglot_ner.train import step as step_lib

# Tiny model sizes (the byte CRF's are conftest's); one padded shape each where it matters.
TINY = {"charner": {"model.emb_dim": 8, "model.hidden": 8, "model.output_dropout": (0.1,)},
        "bts": {"model.window": 32, "model.byte_emb_dim": 8, "model.num_layers": 1,
                "model.hidden": 16, "model.output_emb_dim": 8, "model.max_spans": 8,
                "data.eval_stride": 16, "data.span_buckets": (8,)}}
KINDS = ("byte_crf", "charner", "bts")
LINES = ['Ana  vive en Lima,cerca de "Juan Pérez" (ONU).', "  ¿Vive  J. Pérez en EE.UU.? ",
         "Juan\tvive en\u00a0Madrid ."]


@pytest.fixture(scope="module")
def make_run(tiny_config):
  """`make_run(name, seed)`: a run of kind `name` with tiny random parameters (no checkpoint)."""
  return lambda name, seed=0: _make_run(tiny_config, name, seed)


def _make_run(tiny_config, name: str, seed: int) -> runs.Run:
  if name == "byte_crf":
    config = tiny_config()
  else:
    config = config_lib.load_config(f"{name}.py:langs=demo/aa+demo/bb")
    config.update_from_flattened_dict(TINY[name])
  label_map = labels.LabelMap.from_sentences(corpora.load_split("demo/aa", "train"))
  kind = kinds.build(config, label_map)
  mesh = step_lib.make_mesh()
  return runs.Run("/nonexistent", "best", 0, config, {"languages": ["demo/aa", "demo/bb"]},
                  label_map, kind, kind.init_params(jax.random.key(seed), mesh), mesh)


@pytest.fixture(scope="module", params=KINDS)
def run(request, make_run):
  return make_run(request.param)


def test_every_kind_declares_entity_scores(run):
  assert isinstance(run.kind, base.ScoresEntities)


@pytest.mark.parametrize("tokenize_text", [True, False])
def test_entities_are_the_tags_spans_with_offsets_and_probabilities(run, tokenize_text):
  found = run.entities(LINES, tokenize=tokenize_text)
  spans = [tokenize.tokens(line, tokenize_text) for line in LINES]
  tagged = run.tag([[line[a:b] for a, b in s] for line, s in zip(LINES, spans)])
  if not run.kind.windowed:  # BTS reads its lines as one stream: a line's context matters
    assert run.entities(LINES[0], tokenize=tokenize_text) == found[0]
  for line, line_spans, tags, entities in zip(LINES, spans, tagged, found):
    expected = [(type_, line_spans[first][0], line_spans[last - 1][1])
                for type_, first, last in tags_lib.spans(tags)]
    assert [(e["type"], e["start"], e["end"]) for e in entities] == expected
    for entity in entities:
      assert line[entity["start"]:entity["end"]] == entity["text"]
      assert 0.0 <= entity["score"] <= 1.0
  assert run.entities([""]) == [[]] and run.entities("   ") == []


def test_long_lines_are_tagged_whole(run):
  words = ["Ana", "vive", "en", "Lima", "."] * 400  # 2,000 tokens
  long_line = " ".join(words)
  assert run.entity_scores([words])[0][0] == run.tag([words])[0]
  assert [len(tags) for tags, _ in run.entity_scores([words, words[:5]])] == [2000, 5]
  huge = "x" * 100_000  # one 100,000-character token
  [(tags, _)] = run.entity_scores([[huge, "Lima"]])
  assert len(tags) == 2
  assert all(e["end"] <= len(long_line) for e in run.entities(long_line))


def test_byte_crf_scores_are_exact_span_marginals(make_run):
  """Against enumeration of every valid IOB2 path of the run's CRF."""
  run = make_run("byte_crf", seed=3)
  sentences = [["Ana", "vive", "en", "Lima"], ["Juan", "Pérez", "x"]]
  transitions = np.asarray(run.params["crf"]["transitions"], np.float64)
  allowed = crf.allowed_transitions(run.label_map.tags, "IOB2")
  num_tags = len(run.label_map.tags)
  checked = 0
  for (tags, scores), emissions in zip(run.entity_scores(sentences), run.emissions(sentences)):
    paths = np.array(list(itertools.product(range(num_tags), repeat=len(tags))))
    ok = (allowed.transitions[paths[:, :-1], paths[:, 1:]].all(1) & allowed.start[paths[:, 0]]
          & allowed.end[paths[:, -1]])
    paths = paths[ok]
    log_p = (np.asarray(emissions, np.float64)[np.arange(len(tags)), paths].sum(1)
             + transitions[paths[:, :-1], paths[:, 1:]].sum(1))
    p = np.exp(log_p - np.logaddexp.reduce(log_p))
    names = np.array(run.label_map.tags)[paths]
    for (type_, first, last), score in zip(tags_lib.spans(tags), scores):
      match = (names[:, first:last] == tags[first:last]).all(1)
      if last < len(tags):
        match &= names[:, last] != "I-" + type_
      np.testing.assert_allclose(score, p[match].sum(), rtol=1e-4)
      checked += 1
  assert checked


def test_byte_crf_shared_word_table_changes_no_score(make_run):
  """One word table per call (`shared_batches`) gives the tags and scores of a word table per
  batch, over batches that share words: the same tags, and scores equal up to float32 rounding
  (matrix products run at other shapes)."""
  run = make_run("byte_crf", seed=2)
  sentences = [conll.Sentence(s.tokens, ("O",) * len(s))
               for s in corpora.load_split("demo/aa", "train")]
  batch_size = 128 * run.mesh.size
  per_batch = word_batches.WordEvalBatches(sentences, run.label_map, batch_size=batch_size,
                                           fitted=True, num_shards=run.mesh.size,
                                           **run.kind._bucketing())
  assert len(per_batch) > 1
  step = step_lib.make_predict_step(run.kind.predict_entities, run.mesh)
  outputs = [jax.device_get(step(run.params, step_lib.shard_batch(batch, run.mesh)))
             for batch in per_batch]
  shared = run.entity_scores([s.tokens for s in sentences], batch_size=batch_size)
  expected = run.kind.entity_scores(per_batch, outputs)
  assert [tags for tags, _ in shared] == [tags for tags, _ in expected]
  np.testing.assert_allclose(np.concatenate([scores for _, scores in shared]),
                             np.concatenate([scores for _, scores in expected]), rtol=1e-5)


def test_charner_word_crf_decodes_like_its_viterbi(make_run):
  """The word CRF of `decode.word_emissions` has the byte Viterbi's best path (log_prob)."""
  run = make_run("charner", seed=1)
  sentences = [conll.Sentence(tuple(t), ("O",) * len(t))
               for t in (["Ana", "vive", "en", "Lima"], ["Juan", "P"] * 5)]
  data = run.kind.eval_batches(sentences, lang=0, batch_size=4, num_shards=1)
  batch = next(iter(data))
  logits = run.kind.module.apply({"params": run.params}, batch, train=False)
  tags, _ = decode.decode_words(logits, batch["lengths"], batch["kinds"])
  emissions, words = decode.word_emissions(logits, batch["lengths"], batch["kinds"])
  label_tags = run.label_map.tags
  best, _ = crf.viterbi(emissions, words, jnp.zeros((len(label_tags),) * 2),
                        allowed=crf.allowed_transitions(label_tags, "IOB2"))
  np.testing.assert_array_equal(best, tags)

