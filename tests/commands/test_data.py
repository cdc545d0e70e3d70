"""`polyglot-ner data`: stats numbers, validate exit codes and messages, convert output, prepare
output and errors, usage."""

import pytest

from polyglot_ner import __main__ as entry
from polyglot_ner.commands import data as data_command
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import tags as tags_lib


def parse_stats(output: str) -> dict[str, dict[str, str]]:
  """{input label: {field: value}} from the indented `field value` blocks."""
  blocks, current = {}, None
  for line in output.splitlines():
    if not line.startswith(" "):
      current = blocks.setdefault(line.split()[0], {})
    else:
      field, value = line.split(None, 1)
      current[field] = value
  return blocks


def test_stats_on_files_and_corpus_names(data_root, capsys):
  en = str(data_root / "conll2003/en/train.txt")
  de = str(data_root / "conll2003/de/test.txt")
  status = data_command.main(["stats", en, "conll2002/es", "--root", str(data_root), de, "demo/bb"])
  assert status == 0
  blocks = parse_stats(capsys.readouterr().out)
  assert blocks[en] == {"encoding": "utf-8", "scheme": "IOB1", "sentences": "14041",
                        "tokens": "203621",
                        "entities": "23499 (LOC 7140, MISC 3438, ORG 6321, PER 6600)"}
  assert blocks[de]["encoding"] == "latin-1"
  assert blocks[de]["sentences"] == "3005" and blocks[de]["tokens"] == "51943"
  assert blocks["conll2002/es"]["scheme"] == "IOB2"
  assert blocks["conll2002/es"]["entities"] == "18798 (LOC 4914, MISC 2173, ORG 7390, PER 4321)"
  assert blocks["demo/bb"]["sentences"] == "600"


def test_stats_split_and_bom(data_root, capsys):
  assert data_command.main(["stats", "--split", "dev", "--root", str(data_root), "wikiann/sw"]) == 0
  blocks = parse_stats(capsys.readouterr().out)
  assert blocks["wikiann/sw"]["sentences"] == "1000" and blocks["wikiann/sw"]["tokens"] == "5609"
  luo = str(data_root / "masakhaner/luo/train.txt")
  assert data_command.main(["stats", luo]) == 0
  assert parse_stats(capsys.readouterr().out)[luo]["encoding"] == "utf-8"  # BOM dropped


def test_stats_reports_unknown_inputs(data_root, capsys):
  assert data_command.main(["stats", "conll2003/de", "--root", str(data_root), "demo/aa"]) == 1
  captured = capsys.readouterr()
  assert "conll2003/de has no train split" in captured.err
  assert "demo/aa" in captured.out
  assert data_command.main(["stats", "nowhere/xx", "missing.txt"]) == 1
  assert capsys.readouterr().err.splitlines() == [
      "polyglot-ner data stats: error: file nowhere/xx does not exist",
      "polyglot-ner data stats: error: file missing.txt does not exist"]


def test_validate_exit_codes_and_messages(data_root, tmp_path, capsys):
  good = tmp_path / "good.txt"
  good.write_text("Kigali B-LOC\nni O\n")
  one_column = tmp_path / "one_column.txt"
  one_column.write_text("Kigali B-LOC\n\nni\nBad B_X\n")
  bad_tag = tmp_path / "bad_tag.txt"
  bad_tag.write_text("Kigali B-LOC\nni O\nx X-PER\n")
  german = data_root / "conll2003/de/dev.txt"
  assert data_command.main(["validate", str(good), str(german)]) == 0
  out = capsys.readouterr().out.splitlines()
  assert out == [f"{good}: ok (1 sentences, 2 tokens, utf-8)",
                 f"{german}: ok (2867 sentences, 51444 tokens, latin-1)"]
  assert data_command.main(["validate", str(one_column), str(good), str(bad_tag)]) == 1
  out = capsys.readouterr().out.splitlines()
  assert out[0].startswith(f"{one_column}:3: ")  # only the first problem of the file
  assert out[1].startswith(f"{good}: ok")
  assert out[2].startswith(f"{bad_tag}:3: unknown tag 'X-PER'")
  assert len(out) == 3
  assert data_command.main(["validate", str(german), "--encoding", "utf-8"]) == 1
  assert capsys.readouterr().out.startswith(f"{german}:")
  assert data_command.main(["validate", str(tmp_path / "absent.txt")]) == 1
  assert "absent.txt" in capsys.readouterr().out


@pytest.mark.parametrize("scheme", ["iob2", "iobes"])
def test_convert_writes_the_normalised_tags(data_root, tmp_path, capsys, scheme):
  source = data_root / "conll2003/en/dev.txt"
  out = tmp_path / f"dev.{scheme}.txt.gz"
  assert data_command.main(["convert", str(source), str(out), "--scheme", scheme]) == 0
  assert "IOB1 -> " + scheme.upper() in capsys.readouterr().out
  original = conll.read_conll(source)
  converted = conll.read_conll(out)
  assert [s.tokens for s in converted] == [s.tokens for s in original]
  expected = [tags_lib.to_iob2(s.tags, "IOB1") for s in original]
  if scheme == "iobes":
    expected = [tags_lib.iob2_to_iobes(t) for t in expected]
  assert [list(s.tags) for s in converted] == expected


def test_convert_latin1_input_and_wikiann_prefix(data_root, tmp_path, capsys):
  out = tmp_path / "de.txt"
  assert data_command.main(["convert", str(data_root / "conll2003/de/dev.txt"), str(out)]) == 0
  assert any("ü" in t for s in conll.read_conll(out) for t in s.tokens)  # re-encoded as UTF-8
  wikiann = tmp_path / "sw.txt"
  assert data_command.main(["convert", str(data_root / "wikiann/sw/dev.txt.gz"), str(wikiann)]) == 0
  assert not any(t.startswith("sw:") for s in conll.read_conll(wikiann) for t in s.tokens)
  bad = tmp_path / "bad.txt"
  bad.write_text("x\n")
  assert entry.main(["data", "convert", str(bad), str(tmp_path / "never.txt")]) == 1
  assert capsys.readouterr().err.startswith(f"polyglot-ner data: error: {bad}:1: ")
  assert not (tmp_path / "never.txt").exists()


def test_usage_errors_return_2(capsys):
  assert data_command.main([]) == 2
  err = capsys.readouterr().err
  assert err.startswith("usage: polyglot-ner data {stats,validate,convert,prepare}")
  assert err.endswith("\npolyglot-ner data: error: missing subcommand\n")
  assert data_command.main(["frobnicate"]) == 2
  assert "polyglot-ner data: error: unknown subcommand 'frobnicate'" in capsys.readouterr().err
  for argv, message in [
      (["convert", "a", "b", "--scheme", "bio"],
       "flag --scheme=bio: value should be one of <iob2|iobes>"),
      (["validate", "--bogus", "x"], "Unknown command line flag 'bogus'"),
      (["validate", "--encoding", "klingon", "x"], "flag --encoding=klingon: unknown encoding"),
      (["validate"], "missing PATH..."),
      (["convert", "a"], "missing OUT"),
      (["convert", "a", "b", "c"], "unexpected arguments: c"),
      (["prepare", "wikiann/sw"], "missing required flags: --out"),
      (["prepare", "--out", "x"], "missing CORPUS..."),
  ]:
    assert data_command.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: polyglot-ner data {argv[0]} [flags] ")
    assert err.endswith(f"\npolyglot-ner data {argv[0]}: error: {message}\n")


def test_help(capsys):
  assert data_command.main(["--help"]) == 0
  out = capsys.readouterr().out
  assert all(f"  {name}" in out for name in ("stats", "validate", "convert", "prepare"))
  assert data_command.main(["stats", "--help", "x"]) == 0
  out = capsys.readouterr().out
  assert out.startswith("usage: polyglot-ner data stats [flags] PATH_OR_CORPUS...\n")
  assert "--[no]strip_token_prefix" in out and "--split" in out


def test_strip_token_prefix_overrides_the_registry(data_root, tmp_path):
  """WikiANN's registry strips `sw:`; `--nostrip_token_prefix` keeps it, and a copy outside the
  registry's layout keeps it unless `--strip_token_prefix` is given."""
  source = data_root / "wikiann/sw/dev.txt.gz"
  kept, copied, stripped = tmp_path / "kept.txt", tmp_path / "copy.txt.gz", tmp_path / "strip.txt"
  assert data_command.main(["convert", "--nostrip_token_prefix", str(source), str(kept)]) == 0
  assert all(t.startswith("sw:") for s in conll.read_conll(kept) for t in s.tokens)
  copied.write_bytes(source.read_bytes())
  assert data_command.main(["convert", str(copied), str(stripped), "--strip_token_prefix"]) == 0
  assert ([s.tokens for s in conll.read_conll(stripped)]
          == [s.tokens for s in corpora.load_split("wikiann/sw", "dev", data_root)])


def test_dispatch_through_the_package_entry_point(tmp_path, capsys):
  path = tmp_path / "a.txt"
  path.write_text("Dakar B-LOC\n")
  converted = tmp_path / "b.txt.gz"
  assert entry.main(["data", "convert", str(path), str(converted)]) == 0
  assert entry.main(["data", "validate", str(converted), str(path)]) == 0
  assert capsys.readouterr().out.count(": ok (1 sentences, 1 tokens, utf-8)") == 2


def test_convert_refuses_tokens_it_cannot_write(tmp_path):
  path = tmp_path / "spaces.txt"
  path.write_text("New York\tB-LOC\n")
  with pytest.raises(conll.ConllFormatError, match=f"{path}:1:4: token 'New York' contains a "):
    data_command.main(["convert", str(path), str(tmp_path / "out.txt")])
  assert not (tmp_path / "out.txt").exists()


def test_validate_runs_the_checks_training_runs(tmp_path, capsys):
  """Each of these passed `validate` once and failed only later, in training or prediction."""
  nul = tmp_path / "nul.txt"
  nul.write_bytes(b"Kigali B-LOC\nRwa\x00nda B-LOC\n")
  spaced = tmp_path / "spaced.txt"
  spaced.write_text("Australia NP\tB-LOC\n")
  one_bad_byte = tmp_path / "one_bad_byte.txt"
  one_bad_byte.write_bytes(b"Kigali B-LOC\n\nM\xe9xico B-LOC\n")
  utf16 = tmp_path / "utf16.txt"
  utf16.write_bytes("Kigali B-LOC\n".encode("utf-16"))
  wrong_scheme = tmp_path / "conll2002" / "es" / "dev.txt"  # the registry says IOB2
  wrong_scheme.parent.mkdir(parents=True)
  wrong_scheme.write_text("Madrid S-LOC\n")
  paths = [nul, spaced, one_bad_byte, utf16, wrong_scheme]
  assert data_command.main(["validate", *map(str, paths)]) == 1
  assert capsys.readouterr().out.splitlines() == [
      f"{nul}:2:4: token 'Rwa\\x00nda' contains a NUL character; tokens cannot hold whitespace "
      "(prediction files are space-separated) or NUL",
      f"{spaced}:1:10: token 'Australia NP' contains a space; tokens cannot hold whitespace "
      "(prediction files are space-separated) or NUL",
      f"{one_bad_byte}:3:2: byte 0xe9 is not valid utf-8 (invalid continuation byte); if the "
      "file is Latin-1 (as CoNLL-2003 German is), read it as Latin-1 (--encoding latin-1)",
      f"{utf16}:1: the file is UTF-16 (it starts with a UTF-16 byte-order mark), not utf-8: "
      "convert it to UTF-8 (iconv -f UTF-16 -t UTF-8) or read it with --encoding utf-16",
      f"{wrong_scheme}:1: tag 'S-LOC' cannot occur in IOB2 (E-/S- tags exist only in IOBES)"]
  assert data_command.main(["validate", str(one_bad_byte), "--encoding", "latin-1"]) == 0
  assert "ok (2 sentences, 2 tokens, latin-1)" in capsys.readouterr().out
  assert data_command.main(["validate", str(utf16), "--encoding", "utf-16"]) == 0


def test_latin1_only_where_the_registry_or_the_user_says(data_root, tmp_path, capsys):
  copied = tmp_path / "deu.testa"
  copied.write_bytes((data_root / "conll2003/de/dev.txt").read_bytes())
  assert data_command.main(["validate", str(copied)]) == 1
  assert "--encoding latin-1" in capsys.readouterr().out
  with pytest.raises(conll.ConllFormatError, match=f"{copied}:.*not valid utf-8"):
    data_command.main(["convert", str(copied), str(tmp_path / "never.txt")])
  assert not (tmp_path / "never.txt").exists()
  assert data_command.main(
      ["convert", str(copied), str(tmp_path / "de.txt"), "--encoding", "latin-1"]) == 0
  assert ([s.tokens for s in conll.read_conll(tmp_path / "de.txt")]  # written as UTF-8
          == [s.tokens for s in corpora.load_split("conll2003/de", "dev", data_root)])
  assert data_command.main(["stats", str(copied)]) == 1
  assert "not valid utf-8" in capsys.readouterr().err


def test_prepare_then_stats_read_the_prepared_root(data_root, tmp_path, capsys):
  out = tmp_path / "prepared"
  argv = ["data", "prepare", "wikiann/sw", "conll2003/de", "--root", str(data_root), "--out",
          str(out)]
  assert entry.main(argv) == 0
  dataset = f"{out}/corpus_builder/conll2003_de/1.0.0"
  assert capsys.readouterr().out.splitlines() == [
      f"wikiann/sw: train 1000, dev 1000, test 1000 sentences -> {out}/corpus_builder/wikiann_sw"
      "/1.0.0 (new)",
      f"conll2003/de: dev 2867, test 3005 sentences -> {dataset} (new)"]
  assert entry.main(argv[:2] + argv[3:]) == 0
  assert capsys.readouterr().out.splitlines() == [
      f"conll2003/de: dev 2867, test 3005 sentences -> {dataset} (replaced its earlier "
      "preparation)"]

  def stats(root):
    assert data_command.main(["stats", "--split", "test", "conll2003/de", "--root", str(root)]) == 0
    return parse_stats(capsys.readouterr().out)["conll2003/de"]

  text, prepared = stats(data_root), stats(out)
  assert prepared == {**text, "encoding": "prepared from latin-1", "scheme": "IOB2"}
  assert text["scheme"] == "IOB1"  # prepared as training reads it


def test_prepare_errors_are_one_line(data_root, tmp_path, capsys):
  bad = tmp_path / "text" / "masakhaner" / "xyz"
  bad.mkdir(parents=True)
  (bad / "train.txt").write_text("Abuja B-LOC\nKano B_LOC\n")
  out = tmp_path / "prepared"
  for argv, message in [
      (["wikiann/sw", "--root", str(data_root), "--out", str(data_root)],
       f"{data_root} is the data root to read: prepare into another folder"),
      (["wikiann/sw", "--root", str(data_root), "--out", str(bad.parent)],
       f"{bad.parent} is not empty and has no prepared.json, so `data prepare` did not write it: "
       "give a new or empty folder, or one prepared before"),
      (["masakhaner/xyz", "--root", str(tmp_path / "text"), "--out", str(out)],
       f"{bad}/train.txt:2: unknown tag 'B_LOC'"),
  ]:
    assert entry.main(["data", "prepare", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"polyglot-ner data: error: {message}") and err.count("\n") == 1, err
  assert not out.exists()
  assert entry.main(["data", "stats", "wikiann/sw", "--root", str(tmp_path)]) == 1  # not a root
  assert entry.main(["data", "prepare", "wikiann/sw", "--root", str(data_root), "--out",
                     str(out)]) == 0
  capsys.readouterr()
  assert entry.main(["data", "stats", "wikiann/yo", "--root", str(out)]) == 1
  assert capsys.readouterr().err == (
      f"polyglot-ner data stats: error: wikiann/yo is not prepared in {out} (prepared: "
      "wikiann/sw); add it with `polyglot-ner data prepare wikiann/yo --root <text root> --out "
      f"{out}`\n")
