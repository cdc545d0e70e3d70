"""The whole analysis of a tiny tagger, from examples to analysis.json, CSVs, PNGs and markdown."""

import csv
import json
import re

import jax
import numpy as np
import pytest

from polyglot_ner import errors
from polyglot_ner.analysis import importance
from polyglot_ner.analysis import pipeline
from polyglot_ner.analysis import report


def test_analyze_writes_every_number_table_and_figure(tagger, tmp_path):
  languages = ("aa", "bb", "cc")
  data = {lang: tagger.chunked(tagger.examples(12, seed=j), 8) for j, lang in enumerate(languages)}
  held_out = {lang: tagger.examples(20, seed=10 + j) for j, lang in enumerate(languages)}
  params = tagger.params()

  def score(p):  # tag accuracy stands in for F1
    return {lang: float(np.mean(np.argmax(tagger.logits(p, x["x"]), -1) == x["tags"]))
            for lang, x in held_out.items()}

  nudge = lambda seed: jax.tree.map(lambda p: p * (1 + 0.1 * jax.random.normal(
      jax.random.key(seed), p.shape)), params)
  result = pipeline.analyze(
      str(tmp_path), importance.Model(params, tagger.loss, tagger.sample), data,
      methods=("taylor_abs",), fractions=(0.05, 0.1, 0.3),
      score=score, pruning_fractions=(0.3,), progress=False,
      mono={seed: {lang: importance.Model(tagger.params(seed=20 + 10 * seed + j), tagger.loss)
                   for j, lang in enumerate(languages[:3 - seed])} for seed in (1, 0)},
      children={lang: importance.Model(nudge(30 + j), tagger.loss)
                for j, lang in enumerate(languages)},
      meta={"model": "tiny tagger"})

  assert [(o.setting, o.method) for o in result.overlaps] == [("polyglot", "taylor_abs"),
                                                               ("mono", "taylor_abs")]
  assert list(result.importances["mono"]) == ["aa", "bb"]  # the first seed's: seed 1
  assert list(result.importances["mono_seed0"]) == list(languages)
  assert result.seeds.runs == (("aa", 1), ("bb", 1), ("aa", 0), ("bb", 0), ("cc", 0))
  assert list(result.importances["finetuned"]) == list(languages)
  numbers = json.loads((tmp_path / report.JSON_FILE).read_text())
  assert numbers["focus"] == 0.1 and numbers["meta"]["model"] == "tiny tagger"
  assert numbers["meta"]["languages"] == list(languages)
  first = numbers["overlap"][0]
  assert first["observed"][1]["mean_jaccard"] == pytest.approx(result.overlaps[0].observed[1]
                                                               .mean_jaccard)
  assert len(numbers["pruning"]["rows"]) == 2 * 3 + 1  # one fraction: the figures show it
  assert np.allclose(numbers["pruning"]["damage"]["0.3"]["important"], result.pruning.damage(0.3))
  assert [s["child"] for s in numbers["shift"]] == list(languages)
  assert numbers["mono_seeds"]["baseline"] == "neither"
  assert numbers["mono_seeds"]["polyglot_mean_jaccard"][1] == pytest.approx(
      result.overlaps[0].observed[1].mean_jaccard)
  assert numbers["finetune_importance"]["references"] == [*languages, "shared by all"]
  assert len(numbers["finetune_importance"]["holds"]) == 3

  markdown = (tmp_path / report.MARKDOWN_FILE).read_text()
  figures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", markdown)
  assert set(figures) == {
      "jaccard_polyglot_taylor_abs.png", "sharing_polyglot_taylor_abs.png",
      "tensors_polyglot_taylor_abs.png", "jaccard_mono_taylor_abs.png",
      "sharing_mono_taylor_abs.png", "tensors_mono_taylor_abs.png", "settings_taylor_abs.png",
      "seeds_taylor_abs.png", "pruning_damage.png", "pruning_curves.png", "shift_overlap.png",
      "shift_shared.png", "shift_tensors.png", "finetune_importance.png"}
  for figure in figures:
    assert (tmp_path / figure).read_bytes()[:4] == b"\x89PNG"
  assert "nan" not in markdown.lower()
  assert "top 30% parameters drops" in markdown and "top 10% by taylor_abs" in markdown
  assert "across languages and seeds" in markdown
  assert "the reading that fine-tuning utilises a large number of the shared parameters" in markdown
  paragraphs = markdown.split("\n\n")
  for before, paragraph in zip(paragraphs, paragraphs[1:]):  # a finding in one sentence, then
    if paragraph.startswith("!["):                          # its figure
      assert before.endswith(".") and "\n" not in before, before
  tables = re.findall(r"\* \[([^]]+\.csv)\]", markdown)
  assert {"pruning.csv", "shift.csv", "shift_tensors.csv", "jaccard_mono_taylor_abs.csv",
          "sharing_global_polyglot_taylor_abs.csv", "seeds_taylor_abs.csv",
          "finetune_importance.csv"} <= set(tables)
  assert all((tmp_path / table).exists() for table in tables)
  with open(tmp_path / "pruning.csv") as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == (2 * 3 + 1) * 3
  assert {row["control"] for row in rows} == {"important", "least", "random"}


def test_report_needs_results_and_picks_the_nearest_fraction(tmp_path):
  with pytest.raises(errors.UserError, match="nothing to report"):
    report.write(tmp_path)
  assert report.nearest((0.01, 0.1, 0.3), 0.05) == 0.1
  assert report.nearest((0.01, 0.1), 0.02) == 0.01
  assert report.default_focus((0.3, 0.01, 0.1, 0.2)) == 0.2
