"""`polyglot-ner data {stats,validate,convert}`: look at, check and convert CoNLL files.

Inputs are file paths or `corpus/lang` names from the registry (`conll2003/en`, `demo/aa`, ...).
Files are read with their encoding detected (UTF-8, with or without BOM, else Latin-1).
"""

from __future__ import annotations

import argparse
import codecs
import collections
import os
import sys
from collections.abc import Sequence

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
  stats.add_argument("--strip-token-prefix", action="store_true",
                     help="strip WikiANN `xx:` token prefixes when reading files")

  validate = argparse.ArgumentParser(
      prog="polyglot-ner data validate",
      description="Check CoNLL files; print file:line for the first problem of each file and "
      "exit 1 if any file has one.")
  validate.add_argument("paths", nargs="+", metavar="PATH")
  validate.add_argument("--encoding", default=None, type=_encoding,
                        help="force an encoding (default: detect)")

  convert = argparse.ArgumentParser(
      prog="polyglot-ner data convert",
      description="Rewrite a CoNLL file as `token tag` lines in IOB2 (or IOBES), UTF-8.")
  convert.add_argument("input", metavar="IN")
  convert.add_argument("output", metavar="OUT", help="gzipped if it ends in .gz")
  convert.add_argument("--scheme", default="iob2", choices=("iob2", "iobes"))
  convert.add_argument("--encoding", default=None, type=_encoding,
                       help="input encoding (default: detect)")
  convert.add_argument("--strip-token-prefix", action="store_true",
                       help="strip WikiANN `xx:` token prefixes")
  return {"stats": stats, "validate": validate, "convert": convert}


def _usage(parsers: dict[str, argparse.ArgumentParser]) -> str:
  lines = ["usage: polyglot-ner data {stats,validate,convert} ...", ""]
  lines += [f"  {name:<10}{parser.description}" for name, parser in parsers.items()]
  return "\n".join(lines)


def _read_file(path: str, encoding: str | None, strip_token_prefix: bool = False):
  encoding = encoding or conll.detect_encoding(path)
  return conll.read_conll(path, encoding=encoding, strip_token_prefix=strip_token_prefix), encoding


def _load_input(item: str, args: argparse.Namespace):
  """(label, sentences as stored, encoding) for a file path or a registered corpus name."""
  if os.path.exists(item):
    sentences, encoding = _read_file(item, None, args.strip_token_prefix)
    return item, sentences, encoding
  corpus, lang = corpora.parse_name(item)
  label = f"{item} ({args.split})"
  if corpus == corpora.DEMO:
    return label, corpora.load_split(item, args.split), "built-in (synthetic)"
  path = corpora.split_path(item, args.split, args.root)
  spec = corpora.CORPORA[corpus]
  encoding = spec.encoding_for(lang)
  sentences = conll.read_conll(path, encoding=encoding,
                               strip_token_prefix=spec.strip_token_prefix)
  return f"{label} {path}", sentences, encoding


def _stats(args: argparse.Namespace) -> int:
  status = 0
  for item in args.inputs:
    try:
      label, sentences, encoding = _load_input(item, args)
    except (ValueError, OSError) as e:
      print(f"{item}: {e}", file=sys.stderr)
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
    try:
      sentences, encoding = _read_file(path, args.encoding)
    except conll.ConllFormatError as e:
      print(e)
      status = 1
      continue
    except OSError as e:
      print(f"{path}:0: {e.strerror or e}")
      status = 1
      continue
    print(f"{path}: ok ({len(sentences)} sentences, {sum(len(s) for s in sentences)} tokens, "
          f"{encoding})")
  return status


def _convert(args: argparse.Namespace) -> int:
  try:
    sentences, _ = _read_file(args.input, args.encoding, args.strip_token_prefix)
    source = tags_lib.detect_scheme(s.tags for s in sentences)
    converted = []
    for sentence in sentences:
      tags = tags_lib.to_iob2(sentence.tags, source)
      if args.scheme == "iobes":
        tags = tags_lib.iob2_to_iobes(tags)
      converted.append(conll.Sentence(sentence.tokens, tuple(tags)))
    conll.write_conll(args.output, converted)
  except (ValueError, OSError) as e:
    located = isinstance(e, (conll.ConllFormatError, OSError))  # these already name the file
    print(e if located else f"{args.input}: {e}", file=sys.stderr)
    return 1
  print(f"{args.output}: {len(converted)} sentences, {source} -> {args.scheme.upper()}")
  return 0


def main(argv: Sequence[str]) -> int:
  """Entry point of `polyglot-ner data`; returns the exit status (2 for usage errors)."""
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
