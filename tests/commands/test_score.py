"""`polyglot-ner score`: conlleval's report of a file or stdin, with its options -d, -r, -o, -l.

The expected reports are written from conlleval's rules: the last two fields are the gold and the
predicted tag; a `-X-` line ends a sentence, its tags count as O and it is no token; `-DOCSTART-`
lines are tokens; a type holds everything after the first hyphen; `%17s` pads UTF-8 bytes.
"""

import io
import sys

import pytest

from polyglot_ner import __main__ as entry

TEXT = """Juan B-PER B-PER
Pérez I-PER O
-X- B-LOC B-LOC
vive O O
en O O
Nueva B-WORK-OF-ART B-WORK-OF-ART
York I-WORK-OF-ART I-WORK-OF-ART

-DOCSTART- O O

Él B-ÉT B-ÉT
"""
# 8 tokens (not the -X- line), 7 tagged alike; gold PER, WORK-OF-ART, ÉT; predicted PER (Juan
# only), WORK-OF-ART*, ÉT* (* correct).
REPORT = """processed 8 tokens with 3 phrases; found: 3 phrases; correct: 2.
accuracy:  87.50%; precision:  66.67%; recall:  66.67%; FB1:  66.67
              PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  1
      WORK-OF-ART: precision: 100.00%; recall: 100.00%; FB1: 100.00  1
              ÉT: precision: 100.00%; recall: 100.00%; FB1: 100.00  1
"""
RAW = "a\tPER\tPER\nb\tPER\tNONE\nc\tNONE\tLOC\n"  # -r: every tag a chunk of its own
RAW_REPORT = """processed 3 tokens with 2 phrases; found: 2 phrases; correct: 1.
accuracy:  33.33%; precision:  50.00%; recall:  50.00%; FB1:  50.00
              LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  1
              PER: precision: 100.00%; recall:  50.00%; FB1:  66.67  1
"""
RAW_LATEX = r"""        & Precision &  Recall  & F$_{\beta=1} \\\hline
LOC     &    0.00\% &   0.00\% &   0.00 \\
PER     &  100.00\% &  50.00\% &  66.67 \\\hline
Overall &   50.00\% &  50.00\% &  50.00 \\\hline
"""


def score(capsys, *argv):
  status = entry.main(["score", *map(str, argv)])
  out, err = capsys.readouterr()
  return status, out, err


def test_a_file_and_stdin_print_conllevals_report(tmp_path, capsys, monkeypatch):
  path = tmp_path / "pred.txt"
  path.write_text(TEXT, encoding="utf-8")
  assert score(capsys, path) == (0, REPORT, "")
  monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(TEXT.encode("utf-8"))))
  assert score(capsys) == (0, REPORT, "")


def test_raw_tags_a_delimiter_an_outside_tag_and_latex(tmp_path, capsys):
  path = tmp_path / "raw.tsv"
  path.write_text(RAW, encoding="utf-8")
  assert score(capsys, "-d", "\\t", "-r", "-o", "NONE", path) == (0, RAW_REPORT, "")
  assert score(capsys, "-l", "-r", "-o=NONE", "--delimiter=\t", path) == (0, RAW_LATEX, "")


def test_several_files_each_get_a_report(tmp_path, capsys):
  paths = [tmp_path / "a.txt", tmp_path / "b.txt"]
  for path in paths:
    path.write_text(TEXT, encoding="utf-8")
  assert score(capsys, *paths) == (
      0, f"==> {paths[0]} <==\n{REPORT}\n==> {paths[1]} <==\n{REPORT}", "")


@pytest.mark.parametrize("text, message", [
    ("a O O\nb O O O\n", "{path}:2: 4 fields where the first line has 3: 'b O O O'"),
    ("a O O\n-X- O\n", "{path}:2: 2 fields where the first line has 3: '-X- O'"),
    ("a\n\nb\n", "{path}:1: expected a gold and a predicted tag, found one field: 'a'"),
    ("a O PER\n", "{path}:1: unknown tag 'PER': expected 'O' or B-/I-/E-/S- and a type, "
                  "e.g. 'B-PER'"),
])
def test_input_conlleval_would_refuse_or_misread_is_one_line(tmp_path, capsys, text, message):
  path = tmp_path / "bad.txt"
  path.write_text(text, encoding="utf-8")
  status, out, err = score(capsys, path)
  assert (status, out) == (1, "")
  assert err == f"polyglot-ner score: error: {message.format(path=path)}\n"


def test_a_missing_file_is_one_line(tmp_path, capsys):
  assert score(capsys, tmp_path / "absent.txt") == (
      1, "", f"polyglot-ner score: error: file {tmp_path / 'absent.txt'} does not exist\n")
