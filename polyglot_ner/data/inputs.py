"""What a user names as input: a CoNLL file, a raw-text file, or a registered corpus.

A file is read exactly as training reads it (`corpora.file_format`): with its corpus's encoding,
token prefix and tag scheme when it lies in the registry's layout (`<corpus>/<lang>/<split file>`),
else as UTF-8 unless an encoding is given. So what `polyglot-ner data validate` accepts trains, and
`polyglot-ner predict` on a corpus file tags the same tokens the run was scored on.
"""

from __future__ import annotations

import os

from polyglot_ner import errors
from polyglot_ner.data import conll
from polyglot_ner.data import corpora
from polyglot_ner.data import text

FORMATS = ("conll", "text")  # of a file to tag: CoNLL columns, or one sentence per line
OUTPUT_FORMATS = ("conll", "jsonl")  # predictions: token lines, or entities per input line


def output_format(path: str | os.PathLike, chosen: str | None = None) -> str:
  """`chosen`, else "jsonl" for an output name ending in `.jsonl`, else "conll"."""
  return chosen or ("jsonl" if os.fspath(path).endswith(".jsonl") else "conll")


def read_lines(path: str | os.PathLike, input_format: str = "text",
               encoding: str | None = None) -> list[str]:
  """The lines to find entities in: each non-blank line of a text file as it is, or each
  sentence of a CoNLL file as its tokens joined by one space."""
  if input_format == "text":
    lines = [line for line in conll.read_text(path, encoding or "utf-8").split("\n")
             if line.strip()]
    if not lines:
      raise conll.ConllFormatError(path, 1, "no sentences found (empty file?)")
    return lines
  return [" ".join(s.tokens) for s in read_input(path, input_format, encoding)[0]]


def read_input(path: str | os.PathLike, input_format: str = "conll",
               encoding: str | None = None, tokenize: bool = False
               ) -> tuple[list[conll.Sentence], bool]:
  """The sentences of a file to tag and whether their tags are gold (else they are all "O").

  `conll`: a file with tags (`token ... tag`) gives its sentences, tags normalised to IOB2; one of
  tokens only (one column) gives "O" tags; `-DOCSTART-` lines are skipped. `text`: one sentence
  per line, split at whitespace (CoNLL-style with `tokenize`). `encoding` defaults to the
  registry's for its files, else UTF-8.
  """
  if input_format == "text":
    tokens = text.read_sentences(path, encoding=encoding or "utf-8", tokenize=tokenize)
  else:
    file_format = corpora.file_format(path, encoding=encoding)
    if conll.has_tags(path, encoding=file_format.encoding):
      return file_format.read_iob2(path), True
    tokens = file_format.read_tokens(path)
  return [conll.Sentence(t, ("O",) * len(t)) for t in tokens], False


def is_corpus_name(item: str) -> bool:
  """Whether `item` names a registered corpus (`conll2003/en`, `demo/aa`) rather than a file."""
  corpus = item.partition("/")[0]
  return not os.path.exists(item) and (corpus == corpora.DEMO or corpus in corpora.CORPORA)


def read_as_stored(item: str, split: str = "train", root: str | os.PathLike | None = None,
                   encoding: str | None = None, strip_token_prefix: bool | None = None
                   ) -> tuple[str, list[conll.Sentence], str]:
  """(label, sentences with their tags as stored, encoding) of a file path or of a split of a
  registered corpus; the label names the input (and for a corpus, its split and file, or its
  dataset in a prepared root, which stores the sentences as training reads them: IOB2)."""
  label = item
  if is_corpus_name(item):
    name, label = item, f"{item} ({split})"
    corpus, lang = corpora.parse_name(name)
    if corpus == corpora.DEMO:
      return label, corpora.load_split(name, split), "built-in (synthetic)"
    item = os.fspath(corpora.split_path(name, split, root))
    label = f"{label} {item}"
    if corpora.is_prepared(root):
      if encoding is not None or strip_token_prefix is not None:
        raise errors.UserError(f"{name} is read from the prepared dataset {item}, whose encoding "
                               "and token prefixes were settled when it was prepared: an encoding "
                               "or token-prefix choice applies to text files only")
      return (f"{label} (prepared)", corpora.load_split(name, split, root),
              f"prepared from {corpora.CORPORA[corpus].encoding_for(lang)}")
  file_format = corpora.file_format(item, encoding=encoding, strip_token_prefix=strip_token_prefix)
  return label, file_format.read(item), file_format.encoding
