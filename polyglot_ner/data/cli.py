"""`polyglot-ner data {stats,validate,convert}`: look at, check and convert CoNLL files.

Inputs are file paths or `corpus/lang` names from the registry (`conll2003/en`, `demo/aa`, ...).
A file is read exactly as training reads it (`corpora.file_format`): with its corpus's encoding,
token prefix and tag scheme when it lies in the registry's layout (`<corpus>/<lang>/<split file>`),
else as UTF-8; `--encoding` overrides. So `validate` rejects what training would reject.
"""

from __future__ import annotations

import argparse
import codecs
import collections
import os
import sys
from collections.abc import Sequence

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import tags as tags_lib


def _encoding(name: str) -> str:
  try:
    codecs.lookup(name)
  except LookupError:
    raise argparse.ArgumentTypeError(f"unknown encoding {name!r}") from None
  return name


def _command_parsers() -> dict[str, argparse.ArgumentParser]:
  stats = argparse.ArgumentParser(
      prog="polyglot-ner data stats",
      description="Sentences, tokens, entities per type, detected scheme and encoding.")
  stats.add_argument("inputs", nargs="+", metavar="PATH_OR_CORPUS",
                     help="a CoNLL file or a corpus/lang name such as conll2003/en")
  stats.add_argument("--root", default=None,
                     help=f"data root for corpus names (default: ${corpora.DATA_ROOT_ENV})")
  stats.add_argument("--split", default="train", choices=corpora.SPLITS,
                     help="split to read for corpus names (default: train)")
  stats.add_argument("--encoding", default=None, type=_encoding,
                     help="encoding of the files (default: the registry's, else utf-8)")
  stats.add_argument("--strip-token-prefix", action="store_true", default=None,
                     help="strip WikiANN `xx:` token prefixes when reading files")

  validate = argparse.ArgumentParser(
      prog="polyglot-ner data validate",
      description="Check CoNLL files as training does; print file:line for the first problem of "
      "each file and exit 1 if any file has one.")
  validate.add_argument("paths", nargs="+", metavar="PATH")
  validate.add_argument("--encoding", default=None, type=_encoding,
                        help="encoding of the files (default: the registry's, else utf-8)")

  convert = argparse.ArgumentParser(
      prog="polyglot-ner data convert",
      description="Rewrite a CoNLL file as `token tag` lines in IOB2 (or IOBES), UTF-8.")
  convert.add_argument("input", metavar="IN")
  convert.add_argument("output", metavar="OUT", help="gzipped if it ends in .gz")
  convert.add_argument("--scheme", default="iob2", choices=("iob2", "iobes"))
  convert.add_argument("--encoding", default=None, type=_encoding,
                       help="input encoding (default: the registry's, else utf-8)")
  convert.add_argument("--strip-token-prefix", action="store_true", default=None,
                       help="strip WikiANN `xx:` token prefixes")
  return {"stats": stats, "validate": validate, "convert": convert}


def _usage(parsers: dict[str, argparse.ArgumentParser]) -> str:
  lines = ["usage: polyglot-ner data {stats,validate,convert} ...", ""]
  lines += [f"  {name:<10}{parser.description}" for name, parser in parsers.items()]
  return "\n".join(lines)


def _is_corpus_name(item: str) -> bool:
  """Whether `item` names a registered corpus (`conll2003/en`) rather than a file."""
  corpus = item.partition("/")[0]
  return not os.path.exists(item) and (corpus == corpora.DEMO or corpus in corpora.CORPORA)


def _load_input(item: str, args: argparse.Namespace):
  """(label, sentences as stored, encoding) for a file path or a registered corpus name."""
  label = item
  if _is_corpus_name(item):
    label = f"{item} ({args.split})"
    if corpora.parse_name(item)[0] == corpora.DEMO:
      return label, corpora.load_split(item, args.split), "built-in (synthetic)"
    item = corpora.split_path(item, args.split, args.root)
    label = f"{label} {item}"
  file_format = corpora.file_format(item, encoding=args.encoding,
                                    strip_token_prefix=args.strip_token_prefix)
  return label, file_format.read(item), file_format.encoding


def _stats(args: argparse.Namespace) -> int:
  status = 0
  for item in args.inputs:
    try:
      label, sentences, encoding = _load_input(item, args)
    except errors.UserError as e:
      print(f"polyglot-ner data stats: error: {e}", file=sys.stderr)
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


def _validate(args: argparse.Namespace) -> int:
  status = 0
  for path in args.paths:
    file_format = corpora.file_format(path, encoding=args.encoding)
    try:
      sentences = file_format.read_iob2(path)
    except errors.UserError as e:  # its message names the file
      print(e)
      status = 1
      continue
    print(f"{path}: ok ({len(sentences)} sentences, {sum(len(s) for s in sentences)} tokens, "
          f"{file_format.encoding})")
  return status


def _convert(args: argparse.Namespace) -> int:
  file_format = corpora.file_format(args.input, encoding=args.encoding,
                                    strip_token_prefix=args.strip_token_prefix)
  sentences = file_format.read(args.input)
  source = file_format.scheme_of(sentences)
  converted = []
  for sentence in sentences:
    tags = tags_lib.to_iob2(sentence.tags, source)
    if args.scheme == "iobes":
      tags = tags_lib.iob2_to_iobes(tags)
    converted.append(conll.Sentence(sentence.tokens, tuple(tags)))
  conll.write_conll(args.output, converted)
  print(f"{args.output}: {len(converted)} sentences, {source} -> {args.scheme.upper()}")
  return 0


def main(argv: Sequence[str]) -> int:
  """Entry point of `polyglot-ner data`; returns the exit status (2 for usage errors).

  `convert` raises `UserError` for bad input (`polyglot_ner.__main__` prints it as one line);
  `stats` and `validate` report each bad input and go on to the next.
  """
  argv = list(argv)
  parsers = _command_parsers()
  if argv[:1] in (["-h"], ["--help"]):
    print(_usage(parsers))
    return 0
  if not argv or argv[0] not in parsers:
    problem = f"unknown command {argv[0]!r}" if argv else "missing command"
    print(f"polyglot-ner data: {problem}\n{_usage(parsers)}", file=sys.stderr)
    return 2
  try:
    args = parsers[argv[0]].parse_intermixed_args(argv[1:])
  except SystemExit as e:
    return int(e.code or 0)
  return {"stats": _stats, "validate": _validate, "convert": _convert}[argv[0]](args)
