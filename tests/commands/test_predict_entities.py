"""`polyglot-ner predict` to entities: JSON lines with offsets for text and CoNLL input (chosen
by a `.jsonl` output name or `--output_format`), `--tokenize` for token lines."""

import json

from polyglot_ner import runs
from polyglot_ner.commands import predict as predict_command
from polyglot_ner.data import conll
from polyglot_ner.data import corpora

LINES = ["Ana  vive en Lima,cerca de \"Juan Pérez\".", "", "  ¿Vive J. Pérez en EE.UU.? "]


def predict(workdir, source, output, *flags):
  return predict_command.main([f"--workdir={workdir}", f"--input={source}", f"--output={output}",
                               *flags])


def test_text_to_jsonl_gives_run_entities_per_line(trained_run, tmp_path):
  _, workdir, _ = trained_run
  source = tmp_path / "sentences.txt"
  source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
  output = tmp_path / "out.jsonl"
  assert predict(workdir, source, output, "--format=text") == 0
  rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
  lines = [line for line in LINES if line.strip()]
  assert [row["text"] for row in rows] == lines
  assert [row["entities"] for row in rows] == runs.load(workdir).entities(lines)
  for row in rows:
    for entity in row["entities"]:
      assert row["text"][entity["start"]:entity["end"]] == entity["text"]
  whitespace = tmp_path / "ws.txt"
  assert predict(workdir, source, whitespace, "--format=text", "--output_format=jsonl",
                 "--notokenize") == 0
  assert [json.loads(line)["entities"] for line in whitespace.read_text().splitlines()] == (
      runs.load(workdir).entities(lines, tokenize=False))


def test_conll_to_jsonl_and_tokenized_text_to_token_lines(trained_run, tmp_path):
  _, workdir, _ = trained_run
  sentences = corpora.load_split("demo/aa", "test")[:3]
  source = tmp_path / "aa.txt"
  conll.write_conll(source, sentences)
  output = tmp_path / "aa.jsonl"
  assert predict(workdir, source, output) == 0
  rows = [json.loads(line) for line in output.read_text().splitlines()]
  assert [row["text"] for row in rows] == [" ".join(s.tokens) for s in sentences]

  text = tmp_path / "text.txt"
  text.write_text("Vive en Madrid.\n", encoding="utf-8")
  tagged = tmp_path / "tagged.txt"
  assert predict(workdir, text, tagged, "--format=text", "--tokenize") == 0
  assert [s.tokens for s in conll.read_conll(tagged)] == [("Vive", "en", "Madrid", ".")]
