"""The runs API checks its arguments before tagging: what the CLI refuses in a file (a space or
NUL in a token) it refuses with the same message, and a string where a token list belongs (tagged
character by character before) says what was expected."""

import re

import pytest

from polyglot_ner import errors
from polyglot_ner import runs
from polyglot_ner.data import conll


@pytest.fixture(scope="module")
def run(trained_run):
  return runs.load(trained_run[1])


EXPECTED = "expects a list of sentences, each a list of token strings (e.g. [['Juan', 'vive']])"


@pytest.mark.parametrize("sentences, message", [
    (["Juan vive"], f"run.tag {EXPECTED}; sentence 0 is str 'Juan vive'; split it into tokens "
                    "(run.tag_text tags raw text)"),
    ("Juan vive", f"run.tag {EXPECTED}, got str 'Juan vive'"),
    ([["Juan"], 3], f"run.tag {EXPECTED}; sentence 1 is int 3"),
    ([["Juan", None]], "run.tag: sentence 0, token 1: token None is not a string"),
    ([["Juan"], ["New York"]], "run.tag: sentence 1, token 0: token 'New York' contains a space; "
                               "tokens cannot hold whitespace (prediction files are "
                               "space-separated) or NUL"),
    ([["a\x00b"]], "run.tag: sentence 0, token 0: token 'a\\x00b' contains a NUL character"),
    ([["Juan", ""]], "run.tag: sentence 0, token 1: empty or whitespace-only token"),
])
def test_tag_refuses_what_it_cannot_tag(run, sentences, message):
  with pytest.raises(errors.UserError, match=re.escape(message)):
    run.tag(sentences)


def test_one_rule_and_one_message_for_the_api_and_the_files(run, tmp_path):
  for token in ("New York", "a\x00b", "no\u00a0break"):
    path = tmp_path / "in.txt"
    path.write_text(f"x\tO\n{token}\tB-LOC\n", encoding="utf-8")
    with pytest.raises(conll.ConllFormatError) as from_file:
      conll.read_conll(path)
    with pytest.raises(errors.UserError) as from_api:
      run.tag([["x", token]])
    assert str(from_api.value) == f"run.tag: sentence 0, token 1: {from_file.value.problem}"


def test_tag_text_and_log_likelihood_check_their_arguments(run):
  with pytest.raises(errors.UserError, match=re.escape(
      "run.tag_text expects a string, got list ['Juan vive'] (run.tag tags token lists)")):
    run.tag_text(["Juan vive"])
  with pytest.raises(conll.ConllFormatError, match=re.escape("<text>:1:5: token 'Juan\\x00vive'")):
    run.tag_text("Juan\x00vive")
  with pytest.raises(errors.UserError, match=re.escape(
      "run.log_likelihood expects a list of conll.Sentence (tokens and gold tags); sentence 0 is "
      "list ['Juan', 'vive']")):
    run.log_likelihood([["Juan", "vive"]])
  with pytest.raises(errors.UserError, match=re.escape(
      "run.marginals: sentence 0, token 0: token 'New York' contains a space")):
    run.marginals([["New York"]])
  assert [len(tags) for tags in run.tag([("Juan", "vive"), []])] == [2, 0]


def test_entities_checks_its_argument(run):
  for text in (["Juan vive", 3], 3, [["Juan", "vive"]]):
    with pytest.raises(errors.UserError, match=re.escape(
        "run.entities expects a str or a list of str (one line each), got")):
      run.entities(text)
  with pytest.raises(conll.ConllFormatError, match=re.escape("<text>:2:5: token 'Juan\\x00vive'")):
    run.entities(["x", "Juan\x00vive"], tokenize=False)
