"""Raw text: whitespace tokenisation, blank lines skipped, bad input named by file:line:column."""

import re

import pytest

from polyglot_ner.data import conll
from polyglot_ner.data import text


def test_one_sentence_per_line(tmp_path):
  path = tmp_path / "in.txt"
  path.write_text("Ngozi  visited Lagos .\n\n  \n\tZürich\r\n", encoding="utf-8")
  assert text.read_sentences(path) == [("Ngozi", "visited", "Lagos", "."), ("Zürich",)]


def test_encoding_and_bad_input(tmp_path):
  latin = tmp_path / "latin.txt"
  latin.write_bytes("Köln liegt am Rhein\n".encode("latin-1"))
  with pytest.raises(conll.ConllFormatError, match=re.escape(f"{latin}:1:2: byte 0xf6")):
    text.read_sentences(latin)
  assert text.read_sentences(latin, encoding="latin-1") == [("Köln", "liegt", "am", "Rhein")]
  nul = tmp_path / "nul.txt"
  nul.write_bytes(b"ok\nan ba\x00d one\n")
  with pytest.raises(conll.ConllFormatError, match=re.escape(f"{nul}:2:6: token 'ba\\x00d'")):
    text.read_sentences(nul)
  empty = tmp_path / "empty.txt"
  empty.write_text("\n \n")
  with pytest.raises(conll.ConllFormatError, match="no sentences"):
    text.read_sentences(empty)


@pytest.mark.parametrize("tokenize", [True, False])
def test_checked_spans_check_only_what_can_be_bad(tokenize):
  """Tokens never hold whitespace (any Unicode space), so a NUL is all `conll.token_problem` can
  find in one: lines without one skip the check, lines with one name it."""
  spaces = [c for c in map(chr, range(0x3000 + 1)) if c.isspace()]
  line = "a" + "b".join(spaces) + "Madrid.\u00a0(ONU)"
  spans = text.checked_spans(line, 1, tokenize)
  assert spans and not any(conll.token_problem(line[a:b]) for a, b in spans)
  with pytest.raises(conll.ConllFormatError, match="<text>:3:7: token .* a NUL character"):
    text.checked_spans("a b  x\x00y", 3, tokenize)
