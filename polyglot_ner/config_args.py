"""The one parser for a config file's `arg` string (`configs/x.py:langs=a/b+c/d,cpu`), and for the
language mixture that model configs take as `langs=a/b:2+c/d`.

big_vision style: comma-separated `key=value` pairs and bare flags (`cpu` means `cpu=True`); a value
is typed by the key's default; `+` separates the items of a list. A key that the config does not
declare is an error that names it, so a typo never passes silently. Loading a config file is
`polyglot_ner.config_files`.
"""

from __future__ import annotations

from typing import Any

import ml_collections

from polyglot_ner.errors import UserError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _convert(key: str, text: str, default: Any) -> Any:
  """Parses `text` into the type of `default`."""
  try:
    if isinstance(default, bool):
      if text.lower() in _TRUE + _FALSE:
        return text.lower() in _TRUE
      raise ValueError(f"expected one of {_TRUE + _FALSE}")
    if isinstance(default, (tuple, list)):
      return tuple(item for item in text.split("+") if item)
    if default is None:
      return text
    return type(default)(text)
  except ValueError as e:
    raise UserError(f"config arg {key}={text!r}: {e}") from None


def parse_arg(arg: str | None, **spec: Any) -> ml_collections.ConfigDict:
  """Parses `arg` against `spec` (key -> default value) into a locked ConfigDict.

  `parse_arg("langs=conll2002/es+conll2002/nl,cpu", langs=("demo/aa",), cpu=False, seed=0)` gives
  `langs=("conll2002/es", "conll2002/nl"), cpu=True, seed=0`.
  """
  values = dict(spec)
  for part in (arg or "").split(","):
    part = part.strip()
    if not part:
      continue
    key, has_value, text = part.partition("=")
    key = key.strip()
    if key not in spec:
      known = ", ".join(sorted(spec))
      raise UserError(f"unknown config arg {key!r} in {arg!r}; known keys: {known}")
    if not has_value:
      if not isinstance(spec[key], bool):
        raise UserError(f"config arg {key!r} needs a value ({key}=...)")
      values[key] = True
    else:
      values[key] = _convert(key, text.strip(), spec[key])
  result = ml_collections.ConfigDict(values)
  result.lock()
  return result


def parse_langs(items: tuple[str, ...]) -> dict[str, float]:
  """A mixture from `langs` items: `("a/b:2", "c/d")` -> `{"a/b": 2.0, "c/d": 1.0}` (weight 0
  drops a language); a bad weight is an error naming it."""
  langs = {}
  for item in items:
    name, has_weight, weight = item.partition(":")
    try:
      langs[name] = float(weight) if has_weight else 1.0
    except ValueError:
      raise UserError(f"config arg langs: weight of {name!r} is not a number: {weight!r}"
                      ) from None
  return langs


def mixture_data(arg: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The `config.data` fields every model's config takes from its arg alike: the data root, the
  language mixture (`langs`, `mode`, `alpha`) and the entity types dropped to O (`drop`)."""
  return ml_collections.ConfigDict(dict(
      root=arg.root,  # "" = $POLYGLOT_NER_DATA (unused by demo/*)
      langs=parse_langs(arg.langs),  # {corpus/lang: weight}; weight 0 drops a language
      mode=arg.mode, alpha=arg.alpha, type_map={type_: "O" for type_ in arg.drop}))
