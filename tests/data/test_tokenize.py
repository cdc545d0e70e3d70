"""Raw text -> tokens with offsets: CoNLL-style splitting on tricky strings."""

import pytest

from polyglot_ner.data import tokenize


@pytest.mark.parametrize("line, expected", [
    ("Vive en Madrid.", ["Vive", "en", "Madrid", "."]),
    ('"Hola", dijo J. Pérez (EFE).', ['"', "Hola", '"', ",", "dijo", "J.", "Pérez", "(", "EFE",
                                      ")", "."]),
    ("¿Qué?¡Sí! l'Hospitalet", ["¿", "Qué", "?", "¡", "Sí", "!", "l'Hospitalet"]),
    ("EE.UU. y S.A. subió un 3,5% a 1.500 el 12:30 (1990-1995)...",
     ["EE.UU.", "y", "S.A.", "subió", "un", "3,5%", "a", "1.500", "el", "12:30", "(",
      "1990-1995", ")", "..."]),
    ("Castilla-La Mancha,-5 grados", ["Castilla-La", "Mancha", ",", "-5", "grados"]),
    ("cafe\u0301  हिन्दी\tभाषा\u00a0«Zürich»", ["cafe\u0301", "हिन्दी", "भाषा", "«", "Zürich", "»"]),
    ("", []),
])
def test_conll_style_splits_punctuation_and_keeps_offsets(line, expected):
  spans = tokenize.conll_style(line)
  assert [line[start:end] for start, end in spans] == expected
  assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_whitespace_splits_at_any_whitespace():
  line = " Ana\tvive\u00a0en  Lima. "
  assert [line[a:b] for a, b in tokenize.whitespace(line)] == ["Ana", "vive", "en", "Lima."]
  assert tokenize.tokens(line, False) == tokenize.whitespace(line)
  assert tokenize.tokens(line, True) == tokenize.conll_style(line)
