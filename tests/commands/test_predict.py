"""`polyglot-ner predict`: conlleval input that scores like evaluate, tokens-only input, corpus
files read as training reads them, `-DOCSTART-`, `--encoding`, `--format text`; every input error
comes before the run is loaded."""

import re

import pytest

from polyglot_ner import errors
from polyglot_ner import runs
from polyglot_ner.commands import predict as predict_command
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.eval import conlleval
from polyglot_ner.eval import predictions


def predict(workdir, source, output, *flags):
  return predict_command.main([f"--workdir={workdir}", f"--input={source}", f"--output={output}",
                               *flags])


def tag_directly(workdir, sentences, lang=0):
  """The run's own tags for `sentences`, as training's evaluation computes them."""
  run = runs.load(workdir)
  tagger = run.tagger()
  return tagger.tag(run.params, tagger.batches(sentences, lang=lang))


def test_predict_writes_conlleval_input_that_scores_like_evaluate(trained_run, tmp_path):
  _, workdir, results = trained_run
  source = tmp_path / "bb.test.txt"
  conll.write_conll(source, corpora.load_split("demo/bb", "test"))
  output = tmp_path / "bb.pred.txt"
  assert predict(workdir, source, output, "--lang=demo/bb") == 0
  sentences, predicted = predictions.read_predictions(output)
  assert sentences == corpora.load_split("demo/bb", "test")
  assert all(len(line.split()) == 3 for line in output.read_text().splitlines() if line)
  score = conlleval.score([s.tags for s in sentences], predicted)
  assert score["f1"] == results["test"]["per_language"]["demo/bb"]["f1"]
  # The same predictions as the run's own test predictions file.
  assert output.read_text() == (workdir / "predictions" / "test" / "demo_bb.txt").read_text()


def test_predict_tags_a_tokens_only_file(trained_run, tmp_path):
  _, workdir, _ = trained_run
  sentences = corpora.load_split("demo/aa", "test")[:5]
  source = tmp_path / "tokens.txt"
  source.write_text("".join("\n".join(s.tokens) + "\n\n" for s in sentences))
  output = tmp_path / "tagged.txt"
  assert predict(workdir, source, output) == 0
  tagged = conll.read_conll(output)
  assert [s.tokens for s in tagged] == [s.tokens for s in sentences]


def test_predicting_the_wikiann_file_gives_the_tags_of_its_tokens_without_prefix(
    trained_run, data_root, tmp_path):
  _, workdir, _ = trained_run
  output = tmp_path / "sw.pred.txt"
  assert predict(workdir, data_root / "wikiann/sw/test.txt.gz", output) == 0
  expected = corpora.load_split("wikiann/sw", "test", data_root)
  sentences, predicted = predictions.read_predictions(output)
  assert sentences == expected
  assert predicted == tag_directly(workdir, expected)


def test_docstart_lines_are_skipped(trained_run, tmp_path):
  _, workdir, _ = trained_run
  sentences = corpora.load_split("demo/aa", "test")[:4]
  plain, with_docstart = tmp_path / "plain.txt", tmp_path / "docstart.txt"
  conll.write_conll(plain, sentences)
  with_docstart.write_text("-DOCSTART- -X- O O\n\n" + plain.read_text().replace(
      "\n\n", "\n\n-DOCSTART- -X- O O\n\n", 1), encoding="utf-8")
  tokens_only = tmp_path / "tokens.txt"
  tokens_only.write_text("-DOCSTART-\n\n" + "".join("\n".join(s.tokens) + "\n\n"
                                                    for s in sentences), encoding="utf-8")
  outputs = []
  for source in (plain, with_docstart, tokens_only):
    outputs.append(tmp_path / f"{source.stem}.out")
    assert predict(workdir, source, outputs[-1]) == 0
  assert outputs[0].read_text() == outputs[1].read_text()
  assert "-DOCSTART-" not in outputs[2].read_text()
  assert [line.split()[::2] for line in outputs[0].read_text().splitlines()] == [
      line.split() for line in outputs[2].read_text().splitlines()]  # token pred


def test_encoding_flag(trained_run, tmp_path):
  _, workdir, _ = trained_run
  source = tmp_path / "latin.txt"
  source.write_bytes("Zürich\nist\n\nKöln\n".encode("latin-1"))
  with pytest.raises(conll.ConllFormatError, match=re.escape(f"{source}:1:2: byte 0xfc")):
    predict(workdir, source, tmp_path / "never.txt")
  output = tmp_path / "out.txt"
  assert predict(workdir, source, output, "--encoding=latin-1") == 0
  assert [s.tokens for s in conll.read_conll(output)] == [("Zürich", "ist"), ("Köln",)]

def test_an_unknown_encoding_is_a_usage_error(tmp_path, capsys):
  assert predict(tmp_path / "no_run", tmp_path / "in.txt", tmp_path / "out.txt",
                 "--encoding=klingon") == 2
  assert capsys.readouterr().err.endswith(
      "\npolyglot-ner predict: error: flag --encoding=klingon: unknown encoding\n")


def test_text_format_tags_raw_sentences(trained_run, tmp_path):
  _, workdir, _ = trained_run
  sentences = corpora.load_split("demo/bb", "test")[:5]
  source = tmp_path / "raw.txt"
  source.write_text("".join(" ".join(s.tokens) + "\n\n" for s in sentences), encoding="utf-8")
  output = tmp_path / "raw.out"
  assert predict(workdir, source, output, "--format=text", "--lang=demo/bb") == 0
  lines = output.read_text(encoding="utf-8").split("\n")
  assert all(len(line.split(" ")) == 2 for line in lines if line)  # token pred
  tagged = conll.read_conll(output)
  assert [s.tokens for s in tagged] == [s.tokens for s in sentences]
  assert [list(s.tags) for s in tagged] == tag_directly(workdir, sentences, lang=1)
  assert len(lines) == sum(len(s) + 1 for s in sentences) + 1  # a blank line after each


def test_input_errors_come_before_the_run_is_loaded(tmp_path):
  bad = tmp_path / "bad.txt"
  bad.write_text("Australia NP\tB-LOC\n", encoding="utf-8")
  with pytest.raises(conll.ConllFormatError, match=re.escape(f"{bad}:1:10: token 'Australia NP'")):
    predict(tmp_path / "no_run", bad, tmp_path / "out.txt")
  with pytest.raises(errors.NotFound, match="absent.txt does not exist"):
    predict(tmp_path / "no_run", tmp_path / "absent.txt", tmp_path / "out.txt", "--format=text")


def test_a_language_outside_the_run_is_a_user_error(trained_run, tmp_path):
  _, workdir, _ = trained_run
  source = tmp_path / "in.txt"
  conll.write_conll(source, corpora.load_split("demo/cc", "test")[:2])
  with pytest.raises(errors.UserError, match="'demo/cc' is not one of the run's languages"):
    predict(workdir, source, tmp_path / "out.txt", "--lang=demo/cc")
