"""CoNLL reader/writer: real-file counts from ../shared/data/README.md, every malformed case."""

import collections
import gzip
import re

import pytest

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import tags as tags_lib


def entity_counts(sentences) -> dict[str, int]:
  return dict(collections.Counter(t for s in sentences for t, _, _ in tags_lib.spans(s.tags)))


@pytest.mark.parametrize("path, encoding, sentences, tokens", [
    ("conll2003/en/train.txt", "utf-8", 14041, 203621),
    ("conll2002/es/train.txt", "utf-8", 8323, 264715),
    ("conll2002/nl/train.txt", "utf-8", 15806, 202644),
    ("conll2003/de/dev.txt", "latin-1", 2867, 51444),
    ("wikiann/sw/train.txt.gz", "utf-8", 1000, 5597),
    ("masakhaner/swa/train.txt", "utf-8", 2109, 56599),
])
def test_real_file_counts(data_root, path, encoding, sentences, tokens):
  read = conll.read_conll(data_root / path, encoding=encoding)
  assert len(read) == sentences
  assert sum(len(s) for s in read) == tokens
  assert all(len(s) > 0 and "-DOCSTART-" not in s.tokens for s in read)


def test_english_train_entities_by_type(data_root):
  read = conll.read_conll(data_root / "conll2003/en/train.txt")
  assert entity_counts(read) == {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600}
  assert read[0] == conll.Sentence(("EU", "rejects", "German", "call", "to", "boycott", "British",
                                    "lamb", "."),
                                   ("I-ORG", "O", "I-MISC", "O", "O", "O", "I-MISC", "O", "O"))


def test_german_is_latin1_and_fails_clearly_as_utf8(data_root):
  path = data_root / "conll2003/de/dev.txt"
  read = conll.read_conll(path, encoding="latin-1")
  assert entity_counts(read) == {"LOC": 1181, "MISC": 1010, "ORG": 1241, "PER": 1401}
  assert any(ch in token for s in read for token in s.tokens for ch in "äöüß")
  raw_lines = path.read_bytes().split(b"\n")
  first_bad = next(i for i, line in enumerate(raw_lines, 1) if not _is_utf8(line))
  first_column = next(i for i, byte in enumerate(raw_lines[first_bad - 1], 1) if byte >= 0x80)
  with pytest.raises(conll.ConllFormatError) as error:
    conll.read_conll(path)
  assert str(error.value).startswith(f"{path}:{first_bad}:{first_column}: byte 0x")
  assert "--encoding latin-1" in str(error.value)
  assert (error.value.line, error.value.column) == (first_bad, first_column)


def _is_utf8(data: bytes) -> bool:
  try:
    data.decode("utf-8")
  except UnicodeDecodeError:
    return False
  return True


def test_wikiann_prefix_stripped_and_only_the_prefix(data_root):
  path = data_root / "wikiann/sw/train.txt.gz"
  raw = conll.read_conll(path)
  stripped = conll.read_conll(path, strip_token_prefix=True)
  raw_tokens = [t for s in raw for t in s.tokens]
  tokens = [t for s in stripped for t in s.tokens]
  assert all(t.startswith("sw:") for t in raw_tokens)
  assert tokens == [t.split(":", 1)[1] for t in raw_tokens]
  assert [s.tags for s in stripped] == [s.tags for s in raw]
  assert not any(t.startswith("sw:") for t in tokens)


def test_luo_bom_is_dropped(data_root):
  first = conll.read_conll(data_root / "masakhaner/luo/train.txt")[0]
  assert first.tokens[0] == "Jii"
  assert not any(t.startswith("\ufeff") for t in first.tokens)


def test_es_stray_i_tag_is_read_as_written(data_root):
  """The reader keeps tags verbatim; repairing is the loader's job (see test_corpora)."""
  path = data_root / "conll2002/es/train.txt"
  line = path.read_text(encoding="utf-8").split("\n")[221619 - 1]
  assert line.split()[0] == "San" and line.split()[-1].startswith("I-")


def write(tmp_path, text: str, name: str = "data.txt", encoding: str = "utf-8"):
  path = tmp_path / name
  path.write_bytes(text.encode(encoding))
  return path


def test_format_variants(tmp_path):
  text = ("-DOCSTART- -X- O O\n\nEU NNP I-NP B-ORG\nrejects VBZ I-VP O\n\n\n"
          "Peter  NNP   I-NP B-PER\r\n \nBlackburn\tNNP\tI-NP\tB-PER\n")
  expected = [conll.Sentence(("EU", "rejects"), ("B-ORG", "O")),
              conll.Sentence(("Peter",), ("B-PER",)),
              conll.Sentence(("Blackburn",), ("B-PER",))]
  assert conll.read_conll(write(tmp_path, text)) == expected
  gz = tmp_path / "data.txt.gz"
  gz.write_bytes(gzip.compress(text.encode()))
  assert conll.read_conll(gz) == expected
  assert conll.read_conll(write(tmp_path, "\ufeff" + text, "bom.txt")) == expected
  assert list(conll.iter_conll(gz)) == expected


@pytest.mark.parametrize("text, position, message", [
    ("is\tO\nAustralia NP\tB-LOC\n", "2:10", "token 'Australia NP' contains a space"),
    ("New\u00a0York\tB-LOC\n", "1:4", "token 'New\\xa0York' contains whitespace"),
    ("a O\nwo\x00rd O\n", "2:3", "token 'wo\\x00rd' contains a NUL character"),
    ("a\rb O\n", "1:2", "token 'a\\rb' contains whitespace"),
])
def test_tokens_that_prediction_files_and_batches_cannot_hold(tmp_path, text, position, message):
  """A token with whitespace would split its `token gold pred` line; NUL separates batch words."""
  path = write(tmp_path, text)
  with pytest.raises(conll.ConllFormatError) as error:
    conll.read_conll(path)
  assert str(error.value).startswith(f"{path}:{position}: {message}")
  assert isinstance(error.value, errors.UserError)


@pytest.mark.parametrize("text, line, column, message", [
    ("EU B-ORG\nrejects\n", 2, None, "expected a token and a tag, found one column"),
    ("New B-LOC\n\nNew York B-LOC\n", 3, None,
     "expected 2 columns as on line 1 (the first token line), found 3: 'New York B-LOC'; a token "
     "cannot hold a space"),
    ("-DOCSTART- -X- O O\n\nEU NNP I-NP B-ORG\nrejects VBZ O\n", 4, None,
     "expected 4 columns as on line 3 (the first token line), found 3: 'rejects VBZ O'"),
    ("a\tO\nb\tX\tO\n", 2, None, "expected 2 columns as on line 1"),
    ("EU B_PER\n", 1, None, "unknown tag 'B_PER'"),
    ("EU O\n\nEU X-PER\n", 3, None, "unknown tag 'X-PER'"),
    ("EU NNP B-\n", 1, None, "unknown tag 'B-'"),
    ("EU O\n O\n", 2, 1, "empty or whitespace-only token"),
    ("EU O\n\tO\n", 2, 1, "empty or whitespace-only token"),
    ("EU O\n\u00a0 B-PER\n", 2, 1, "empty or whitespace-only token"),
    ("", 1, None, "no sentences"),
    ("-DOCSTART- -X- O O\n\n\n", 3, None, "no sentences"),
])
def test_malformed_input_names_file_and_line(tmp_path, text, line, column, message):
  path = write(tmp_path, text)
  with pytest.raises(conll.ConllFormatError) as error:
    conll.read_conll(path)
  where = f"{path}:{line}" if column is None else f"{path}:{line}:{column}"
  assert str(error.value).startswith(f"{where}: {message}")
  assert (error.value.path, error.value.line, error.value.column) == (str(path), line, column)


def test_bad_gzip_and_bad_bytes_name_file_and_line(tmp_path):
  fake = write(tmp_path, "EU O\n", "fake.txt.gz")
  with pytest.raises(conll.ConllFormatError, match=re.escape(f"{fake}:1: cannot read as gzip")):
    conll.read_conll(fake)
  latin = write(tmp_path, "EU O\n\nMünchen B-LOC\n", "latin.txt", encoding="latin-1")
  with pytest.raises(conll.ConllFormatError, match=re.escape(f"{latin}:3:2: byte 0xfc is not valid")):
    conll.read_conll(latin)
  assert conll.read_conll(latin, encoding="latin-1")[1].tokens == ("München",)
  one_bad_byte = tmp_path / "one_bad_byte.txt"
  one_bad_byte.write_bytes("Kigali B-LOC\n\nKinshasa B-LOC\nni O\n".encode() + b"M\xe9xico B-LOC\n")
  with pytest.raises(conll.ConllFormatError,
                     match=re.escape(f"{one_bad_byte}:5:2: byte 0xe9 is not valid utf-8")):
    conll.read_conll(one_bad_byte)
  bom = tmp_path / "bom.txt"
  bom.write_bytes(b"\xef\xbb\xbfM\xe9xico B-LOC\n")  # columns count from after the BOM
  with pytest.raises(conll.ConllFormatError, match=re.escape(f"{bom}:1:2: byte 0xe9")):
    conll.read_conll(bom)


@pytest.mark.parametrize("encoding, evidence", [
    ("utf-16", "byte-order mark"),           # with a BOM
    ("utf-16-le", "NUL bytes between"),      # without one
    ("utf-16-be", "NUL bytes between"),
])
def test_utf16_is_named(tmp_path, encoding, evidence):
  path = write(tmp_path, "Kigali B-LOC\nni O\n", encoding=encoding)
  for forced in ("utf-8", "latin-1"):
    with pytest.raises(conll.ConllFormatError) as error:
      conll.read_conll(path, encoding=forced)
    assert str(error.value).startswith(f"{path}:1: the file is UTF-16")
    assert evidence in str(error.value)
  assert conll.read_conll(path, encoding=encoding)[0].tokens == ("Kigali", "ni")


def test_missing_and_unreadable_files_are_user_errors(tmp_path):
  with pytest.raises(errors.NotFound, match=re.escape(f"file {tmp_path / 'absent.txt'} does not "
                                                      "exist")):
    conll.read_conll(tmp_path / "absent.txt")
  with pytest.raises(errors.UserError, match=f"cannot read {tmp_path}: Is a directory"):
    conll.read_conll(tmp_path)


def test_tags_outside_the_declared_scheme_name_their_line(tmp_path):
  path = write(tmp_path, "Kigali B-LOC\n\nni O\nKano S-LOC\n")
  assert [s.tags for s in conll.read_conll(path)] == [("B-LOC",), ("O", "S-LOC")]
  with pytest.raises(conll.ConllFormatError,
                     match=re.escape(f"{path}:4: tag 'S-LOC' cannot occur in IOB2")):
    conll.read_conll(path, scheme="IOB2")
  assert len(conll.read_conll(path, scheme="IOBES")) == 2


def test_tokens_only_files_skip_docstart_and_are_checked(tmp_path):
  path = write(tmp_path, "-DOCSTART-\n\nKigali\nni\n\nsw:Kano\n")
  assert conll.read_tokens(path) == [("Kigali", "ni"), ("sw:Kano",)]
  assert conll.read_tokens(path, strip_token_prefix=True)[1] == ("Kano",)
  assert not conll.has_tags(path)
  assert conll.has_tags(write(tmp_path, "-DOCSTART- -X- O O\n\nKigali B-LOC\n", "tagged.txt"))
  two_columns = write(tmp_path, "Kigali\nni O\n", "two.txt")
  with pytest.raises(conll.ConllFormatError, match=re.escape(f"{two_columns}:2: a tokens-only")):
    conll.read_tokens(two_columns)
  nul = write(tmp_path, "Ki\x00gali\n", "nul.txt")
  with pytest.raises(conll.ConllFormatError, match=re.escape(f"{nul}:1:3: token")):
    conll.read_tokens(nul)


def test_prefix_only_token_is_an_error(tmp_path):
  path = write(tmp_path, "sw:a\tO\nsw:\tO\n")
  with pytest.raises(conll.ConllFormatError, match=re.escape(f"{path}:2: token 'sw:'")):
    conll.read_conll(path, strip_token_prefix=True)


def test_write_conll_round_trip_with_predictions(tmp_path):
  sentences = [conll.Sentence(("Ngozi", "visited", "Lagos"), ("B-PER", "O", "B-LOC")),
               conll.Sentence(("Zürich",), ("B-LOC",))]
  predicted = [("B-PER", "O", "O"), ("B-ORG",)]
  path = tmp_path / "out.txt.gz"
  conll.write_conll(path, sentences, extra_columns=[predicted])
  lines = gzip.decompress(path.read_bytes()).decode("utf-8").split("\n")
  assert lines[:5] == ["Ngozi B-PER B-PER", "visited O O", "Lagos B-LOC O", "",
                       "Zürich B-LOC B-ORG"]
  assert [s.tags for s in conll.read_conll(path)] == predicted  # the tag column is the last one
  plain = tmp_path / "gold.txt"
  conll.write_conll(plain, sentences)
  assert conll.read_conll(plain) == sentences


def test_write_conll_rejects_what_it_cannot_write(tmp_path):
  sentence = conll.Sentence(("a", "b"), ("O", "O"))
  with pytest.raises(ValueError, match="extra column 0, sentence 0"):
    conll.write_conll(tmp_path / "x", [sentence], extra_columns=[[("O",)]])
  with pytest.raises(ValueError, match="extra column 0 has 2 sentences"):
    conll.write_conll(tmp_path / "x", [sentence], extra_columns=[[("O", "O"), ("O", "O")]])
  with pytest.raises(ValueError, match="contains a space"):
    conll.write_conll(tmp_path / "x", [conll.Sentence(("New York",), ("B-LOC",))])
  with pytest.raises(ValueError, match="no sentences"):
    conll.write_conll(tmp_path / "x", [])


def test_sentence_checks_lengths():
  with pytest.raises(ValueError, match="2 tokens but 1 tags"):
    conll.Sentence(("a", "b"), ("O",))
