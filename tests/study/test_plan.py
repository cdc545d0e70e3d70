"""The planner shared by the experiment and the sweep: language sets per design against brute force,
de-duplication, parents, canonical names, bad input."""

import itertools
import math
import re

import pytest

from polyglot_ner.data import corpora
from polyglot_ner.errors import UserError
from polyglot_ner.study import plan as run_plan

LANGS = ["conll2003/en", "conll2002/es", "conll2002/nl"]
POLY = "conll2002_es+conll2002_nl+conll2003_en"


def lang_sets(runs):
  return sorted(r.langs for r in runs)


@pytest.mark.parametrize("design,max_subset,n_train,n_finetune", [
    ("mono", None, 3, 0),
    ("polyglot", None, 1, 0),
    ("finetune", None, 1, 3),
    ("leave_one_out", None, 3, 0),
    ("leave_one_out_ft", None, 3, 3),
    ("pairs", None, 3, 0),
    ("subsets", 2, 6, 0),
    ("subsets", 3, 7, 0),
])
def test_counts_per_design(design, max_subset, n_train, n_finetune):
  runs = run_plan.expand(LANGS, [design], seeds=[0, 1], models=["byte_crf", "charner"],
                         max_subset=max_subset)
  assert len({r.id for r in runs}) == len(runs) == 4 * (n_train + n_finetune)
  for model, seed in itertools.product(["byte_crf", "charner"], [0, 1]):
    cell = [r for r in runs if r.model == model and r.seed == seed]
    assert sum(r.parent is None for r in cell) == n_train
    assert sum(r.parent is not None for r in cell) == n_finetune
    assert all(r.id.startswith(f"{model}/seed{seed}/") for r in cell)


@pytest.mark.parametrize("n_langs,max_subset", [(1, 1), (3, 2), (4, 3), (5, 5)])
def test_language_sets_match_brute_force(n_langs, max_subset):
  langs = [f"wikiann/l{i}" for i in range(n_langs)]
  def design_sets(design):
    return lang_sets(run_plan.expand(langs, [design], [0], ["byte_crf"], max_subset=max_subset))
  subsets = sorted(tuple(sorted(c)) for k in range(1, max_subset + 1)
                   for c in itertools.combinations(langs, k))
  assert len(subsets) == sum(math.comb(n_langs, k) for k in range(1, max_subset + 1))
  assert design_sets("subsets") == subsets
  assert design_sets("mono") == [(lang,) for lang in langs]
  assert design_sets("pairs") == [s for s in subsets if len(s) == 2]
  assert design_sets("leave_one_out") == (
      sorted(tuple(l for l in langs if l != x) for x in langs) if n_langs > 1 else [])


def test_duplicates_across_designs_are_one_run():
  runs = run_plan.expand(LANGS, list(run_plan.DESIGNS), [0], ["byte_crf"])
  # 3 singles, 3 pairs (== leave-one-out), 1 triple, 3 fine-tunes of it, 3 of the pairs.
  assert len(runs) == 13
  by_langs = {r.langs: r for r in runs if r.parent is None}
  assert len(by_langs) == 7
  assert by_langs[("conll2002/es", "conll2002/nl")].designs == (
      "leave_one_out", "pairs", "subsets")
  pair = run_plan.expand(LANGS[:2], ["pairs", "polyglot"], [0], ["byte_crf"])
  assert len(pair) == 1 and pair[0].designs == ("polyglot", "pairs")


def test_fine_tunes_follow_their_parent():
  runs = run_plan.expand(LANGS, ["leave_one_out_ft", "finetune"], [0, 1], ["byte_crf"])
  position = {r.id: i for i, r in enumerate(runs)}
  children = [r for r in runs if r.parent]
  assert len(children) == 2 * (3 + 3)
  for child in children:
    parent = runs[position[child.parent]]
    assert position[child.parent] < position[child.id] and parent.parent is None
    assert (parent.seed, parent.model) == (child.seed, child.model) and len(child.langs) == 1
    assert child.id == f"{parent.id}.ft-{run_plan.lang_slug(child.langs[0])}"
    held_out = child.designs == ("leave_one_out_ft",)
    assert (child.langs[0] in parent.langs) != held_out
    assert parent.designs[0] == ("leave_one_out" if held_out else "polyglot")


def test_the_experiments_designs_in_order():
  runs = run_plan.expand(LANGS[::-1], ["finetune", "mono", "polyglot"], [0], ["byte_crf"])
  shuffled = run_plan.expand(LANGS, ["polyglot", "mono", "finetune"], [0], ["byte_crf"])
  assert runs == shuffled
  assert [(r.id, r.designs, r.parent) for r in runs] == [
      ("byte_crf/seed0/conll2002_es", ("mono",), None),
      ("byte_crf/seed0/conll2002_nl", ("mono",), None),
      ("byte_crf/seed0/conll2003_en", ("mono",), None),
      (f"byte_crf/seed0/{POLY}", ("polyglot",), None),
      (f"byte_crf/seed0/{POLY}.ft-conll2002_es", ("finetune",), f"byte_crf/seed0/{POLY}"),
      (f"byte_crf/seed0/{POLY}.ft-conll2002_nl", ("finetune",), f"byte_crf/seed0/{POLY}"),
      (f"byte_crf/seed0/{POLY}.ft-conll2003_en", ("finetune",), f"byte_crf/seed0/{POLY}")]
  assert runs[3].langs == ("conll2002/es", "conll2002/nl", "conll2003/en")  # sorted by slug
  assert all(re.fullmatch(r"[A-Za-z0-9_+./-]+", r.id) for r in runs)


def test_names():
  assert run_plan.lang_slug("conll2003/en") == "conll2003_en"
  assert run_plan.run_id("byte_crf", 2, ["conll2002/nl", "conll2002/es"]) == (
      "byte_crf/seed2/conll2002_es+conll2002_nl")
  assert run_plan.run_id("x", 0, ["conll2002/es"], ["conll2002/nl", "conll2002/es"]) == (
      "x/seed0/conll2002_es+conll2002_nl.ft-conll2002_es")


def test_every_corpus_language_has_a_distinct_slug(data_root):
  langs = corpora.available_languages(data_root)
  assert len({run_plan.lang_slug(lang) for lang in langs}) == len(langs) > 40


def test_long_language_sets_get_a_short_stable_name():
  langs = [f"wikiann/lang{i:02d}" for i in range(29)]
  name = run_plan.langs_name(langs)
  assert name == run_plan.langs_name(langs[::-1]) and name.startswith("29langs-")
  assert len(name) <= run_plan.MAX_NAME_CHARS and name != run_plan.langs_name(langs[1:])
  assert run_plan.langs_name(langs[:3]) == "wikiann_lang00+wikiann_lang01+wikiann_lang02"


@pytest.mark.parametrize("langs,design,message", [
    (["conll2003/en us"], "mono", "is not `corpus/lang`"), (["a/b.c"], "mono", "is not"),
    (["a/b_c", "a_b/c"], "mono", "collide"), (["a/b"], "nope", "unknown design"),
    ([], "mono", "no languages")])
def test_bad_input_is_an_error(langs, design, message):
  with pytest.raises(UserError, match=message):
    run_plan.expand(langs, [design], [0], ["byte_crf"])
