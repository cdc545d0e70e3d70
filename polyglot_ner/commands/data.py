"""`polyglot-ner data {stats,validate,convert,prepare}`: look at, check, convert, prepare corpora.

  polyglot-ner data stats conll2003/en conll2002/es wikiann/sw --root ../shared/data
  polyglot-ner data validate ../shared/data/conll2002/es/train.txt
  polyglot-ner data convert ../shared/data/conll2003/en/train.txt en.train.iob2.txt
  polyglot-ner data prepare conll2002/es wikiann/sw --root ../shared/data --out prepared

Inputs are file paths or `corpus/lang` names from the registry (`conll2003/en`, `demo/aa`, ...),
read exactly as training reads them (`polyglot_ner.data.inputs`), so `validate` rejects what
training would reject. `stats` and `validate` report each bad input and go on to the next (exit
status 1 if any was bad); `convert` and `prepare` stop at the first problem. `prepare` writes a
data root of TFDS ArrayRecord datasets (`polyglot_ner.data.prepared`) that every command and
config takes as `root` in place of the text root.
"""

from __future__ import annotations

import collections
import os
import sys
import textwrap
from typing import NamedTuple, Sequence

from absl import flags

from polyglot_ner import errors
from polyglot_ner.commands import flags as flags_lib
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import inputs
from polyglot_ner.data import tags as tags_lib

PROG = "polyglot-ner data"
ENCODING_HELP = "encoding of the files (default: the registry's, else utf-8)"
STRIP_HELP = "strip WikiANN `xx:` token prefixes (default: the registry's, else no)"


class Subcommand(NamedTuple):
  """A `polyglot-ner data <name>`: its --help text, flags, positional metavars, body and
  required flags."""
  description: str
  define: flags_lib.Define
  positional: tuple[str, ...]
  run: flags_lib.Run
  required: tuple[str, ...] = ()


def _define_root(flag_values: flags.FlagValues, help_: str) -> None:
  flags.DEFINE_string("root", None, f"{help_} (default: ${corpora.DATA_ROOT_ENV})",
                      flag_values=flag_values)


def _define_stats(flag_values: flags.FlagValues, argv: list[str]) -> None:
  del argv  # no config flag here
  _define_root(flag_values, "data root for corpus names, text or prepared")
  flags.DEFINE_enum("split", "train", list(corpora.SPLITS), "split to read for corpus names",
                    flag_values=flag_values)
  flags_lib.define_encoding(flag_values, ENCODING_HELP)
  flags.DEFINE_bool("strip_token_prefix", None, STRIP_HELP, flag_values=flag_values)


def _stats(flag_values: flags.FlagValues, items: list[str]) -> int:
  status = 0
  for item in items:
    try:
      label, sentences, encoding = inputs.read_as_stored(
          item, flag_values.split, flag_values.root, flag_values.encoding,
          flag_values.strip_token_prefix)
    except errors.UserError as e:
      print(f"{PROG} stats: error: {e}", file=sys.stderr)
      status = 1
      continue
    per_type = collections.Counter(
        chunk[0] for sentence in sentences for chunk in tags_lib.spans(sentence.tags))
    by_type = ", ".join(f"{type_} {n}" for type_, n in sorted(per_type.items()))
    by_type = f" ({by_type})" if by_type else ""
    print(label)
    print(f"  encoding   {encoding}")
    print(f"  scheme     {tags_lib.detect_scheme(s.tags for s in sentences)}")
    print(f"  sentences  {len(sentences)}")
    print(f"  tokens     {sum(len(s) for s in sentences)}")
    print(f"  entities   {sum(per_type.values())}{by_type}")
  return status


def _define_validate(flag_values: flags.FlagValues, argv: list[str]) -> None:
  del argv  # no config flag here
  flags_lib.define_encoding(flag_values, ENCODING_HELP)


def _validate(flag_values: flags.FlagValues, paths: list[str]) -> int:
  status = 0
  for path in paths:
    file_format = corpora.file_format(path, encoding=flag_values.encoding)
    try:
      sentences = file_format.read_iob2(path)
    except errors.UserError as e:  # its message names the file
      print(e)
      status = 1
      continue
    print(f"{path}: ok ({len(sentences)} sentences, {sum(len(s) for s in sentences)} tokens, "
          f"{file_format.encoding})")
  return status


def _define_convert(flag_values: flags.FlagValues, argv: list[str]) -> None:
  del argv  # no config flag here
  flags.DEFINE_enum("scheme", "iob2", ["iob2", "iobes"], "tag scheme to write",
                    flag_values=flag_values)
  flags_lib.define_encoding(flag_values, "input encoding (default: the registry's, else utf-8)")
  flags.DEFINE_bool("strip_token_prefix", None, STRIP_HELP, flag_values=flag_values)


def _convert(flag_values: flags.FlagValues, paths: list[str]) -> int:
  source_path, output = paths
  flags_lib.check_output(output, source_path)
  file_format = corpora.file_format(source_path, encoding=flag_values.encoding,
                                    strip_token_prefix=flag_values.strip_token_prefix)
  sentences = file_format.read(source_path)
  source = file_format.scheme_of(sentences)
  converted = []
  for sentence in sentences:
    tags = tags_lib.to_iob2(sentence.tags, source)
    if flag_values.scheme == "iobes":
      tags = tags_lib.iob2_to_iobes(tags)
    converted.append(conll.Sentence(sentence.tokens, tuple(tags)))
  conll.write_conll(output, converted)
  print(f"{output}: {len(converted)} sentences, {source} -> {flag_values.scheme.upper()}")
  return 0


def _define_prepare(flag_values: flags.FlagValues, argv: list[str]) -> None:
  del argv  # no config flag here
  _define_root(flag_values, "text data root to read")
  flags.DEFINE_string("out", None, "prepared root to write: a new or empty folder, or one "
                      "prepared before", flag_values=flag_values)


def _prepare(flag_values: flags.FlagValues, names: list[str]) -> int:
  # Imported here: TFDS takes a while to import, and the other subcommands do without it.
  from polyglot_ner.data import tfds_builder  # pylint: disable=import-outside-toplevel
  for outcome in tfds_builder.prepare(names, flag_values.root, flag_values.out):
    counts = ", ".join(f"{split} {n}" for split, n in outcome.language.splits.items())
    done = "replaced its earlier preparation" if outcome.replaced else "new"
    dataset = os.path.join(flag_values.out, outcome.language.dataset)
    print(f"{outcome.name}: {counts} sentences -> {dataset} ({done})")
  return 0


SUBCOMMANDS: dict[str, Subcommand] = {
    "stats": Subcommand(
        "Sentences, tokens, entities per type, detected scheme and encoding of each input: a CoNLL "
        "file or a corpus/lang name such as conll2003/en.",
        _define_stats, ("PATH_OR_CORPUS...",), _stats),
    "validate": Subcommand(
        "Check CoNLL files as training does; print file:line for the first problem of each file "
        "and exit 1 if any file has one.",
        _define_validate, ("PATH...",), _validate),
    "convert": Subcommand(
        "Rewrite the CoNLL file IN as `token tag` lines in IOB2 (or IOBES), UTF-8, to OUT "
        "(gzipped if it ends in .gz).",
        _define_convert, ("IN", "OUT"), _convert),
    "prepare": Subcommand(
        "Read every split of each corpus/lang as training does and write it to the folder --out "
        "as a TFDS ArrayRecord dataset, listed in --out/prepared.json; --out is then a data root "
        "(config root=, --root). A language prepared before is replaced: run it again when its "
        "files change.",
        _define_prepare, ("CORPUS...",), _prepare, ("out",)),
}


def _subcommands() -> str:
  """The usage of `polyglot-ner data`: a synopsis and one paragraph per subcommand."""
  lines = [f"usage: {PROG} {{{','.join(SUBCOMMANDS)}}} [flags] ...", ""]
  for name, sub in SUBCOMMANDS.items():
    lines += textwrap.wrap(sub.description, 100, initial_indent=f"  {name:<10}",
                           subsequent_indent=" " * 12)
  lines += ["", f"`{PROG} <subcommand> --help` shows its flags."]
  return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
  """Entry point of `polyglot-ner data`; returns the exit status (2 for usage errors)."""
  argv = list(argv)
  if argv[:1] in (["-h"], ["--help"]):
    return flags_lib.report(flags_lib.UsageError(f"{_subcommands()}\n\n{__doc__.strip()}", 0))
  if not argv or argv[0] not in SUBCOMMANDS:
    problem = f"unknown subcommand {argv[0]!r}" if argv else "missing subcommand"
    return flags_lib.report(flags_lib.usage_error(_subcommands(), PROG, problem))
  sub = SUBCOMMANDS[argv[0]]
  return flags_lib.run_command(f"{PROG} {argv[0]}", argv[1:], sub.run, define=sub.define,
                               required=sub.required, positional=sub.positional,
                               description=textwrap.fill(sub.description, 100))
