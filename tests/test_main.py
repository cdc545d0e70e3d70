"""`polyglot-ner <command>`: every command's user errors are one line on stderr, or a traceback
with --debug / POLYGLOT_NER_DEBUG=1."""

import importlib

import pytest

from polyglot_ner import __main__ as dispatcher
from polyglot_ner import errors


def _failing(error):
  def main(argv):
    raise error
  return main


@pytest.mark.parametrize("command", list(dispatcher.COMMANDS))
def test_a_user_error_is_one_line_and_exit_status_1(command, monkeypatch, capsys):
  module = importlib.import_module(dispatcher.COMMANDS[command][0])
  monkeypatch.setattr(module, "main", _failing(errors.NotFound("runs/x has no checkpoint")))
  monkeypatch.delenv("POLYGLOT_NER_DEBUG", raising=False)
  assert dispatcher.main([command, "--some-flag"]) == 1
  captured = capsys.readouterr()
  assert captured.err == f"polyglot-ner {command}: error: runs/x has no checkpoint\n"
  assert captured.out == ""


def test_debug_shows_the_traceback(monkeypatch):
  module = importlib.import_module(dispatcher.COMMANDS["data"][0])
  seen = []
  monkeypatch.setattr(module, "main", lambda argv: seen.append(argv) or _failing(
      errors.UserError("bad data"))(argv))
  monkeypatch.delenv("POLYGLOT_NER_DEBUG", raising=False)
  with pytest.raises(errors.UserError, match="bad data"):
    dispatcher.main(["data", "validate", "--debug", "x.conll"])
  assert seen == [["validate", "x.conll"]]  # the flag is the dispatcher's, not the command's
  monkeypatch.setenv("POLYGLOT_NER_DEBUG", "1")
  with pytest.raises(errors.UserError, match="bad data"):
    dispatcher.main(["data", "validate"])
  monkeypatch.setenv("POLYGLOT_NER_DEBUG", "0")
  assert dispatcher.main(["data", "validate"]) == 1


def test_other_errors_are_bugs_and_keep_their_traceback(monkeypatch):
  module = importlib.import_module(dispatcher.COMMANDS["lineage"][0])
  monkeypatch.setattr(module, "main", _failing(KeyError("oops")))
  with pytest.raises(KeyError):
    dispatcher.main(["lineage", "x"])


def test_usage_mentions_debug(capsys):
  assert dispatcher.main(["--help"]) == 0
  assert "--debug (or POLYGLOT_NER_DEBUG=1)" in capsys.readouterr().out


@pytest.mark.parametrize("setting, calls", [(None, 1), ("1", 1), ("0", 0)])
def test_commands_keep_freed_memory_unless_told_not_to(setting, calls, monkeypatch):
  module = importlib.import_module(dispatcher.COMMANDS["data"][0])
  monkeypatch.setattr(module, "main", lambda argv: 0)
  seen = []
  monkeypatch.setattr(dispatcher.host_memory, "keep_freed_memory", lambda: seen.append(1))
  if setting is None:
    monkeypatch.delenv("POLYGLOT_NER_KEEP_FREED_MEMORY", raising=False)
  else:
    monkeypatch.setenv("POLYGLOT_NER_KEEP_FREED_MEMORY", setting)
  assert dispatcher.main(["data", "validate"]) == 0
  assert len(seen) == calls
