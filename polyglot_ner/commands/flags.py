"""Command-line parsing shared by every `polyglot-ner <command>`: one style, one behaviour.

Every command parses absl flags (needed by `ml_collections.config_flags`: a locked
`--config FILE[:ARG]` with `--config.a.b=value` overrides) through `run_command`, so all behave
alike. Flags and positional arguments may be intermixed and `--` ends the flags. `--help` (or `-h`)
prints the usage (synopsis, the command's description, its flags) on stdout, exit status 0. A bad
or missing flag, an unknown config key or the wrong number of positional arguments prints the
synopsis and flags, then `<prog>: error: <message>`, on stderr, exit status 2. Other user errors
are raised as `polyglot_ner.errors.UserError`, which `polyglot_ner.__main__` prints.
"""

from __future__ import annotations

import ast
import codecs
import os
import re
import shlex
import sys
from typing import Callable, Sequence

from absl import flags
from ml_collections import config_flags

from polyglot_ner import errors

Define = Callable[[flags.FlagValues, list[str]], None]  # (flags to define into, full argv)
Run = Callable[[flags.FlagValues, list[str]], int]  # (parsed flags, positional args) -> status


class UsageError(Exception):
  """Bad command-line arguments; the message holds the usage, `code` is the exit status (0 for
  --help)."""

  def __init__(self, message: str, code: int):
    super().__init__(message)
    self.code = code


def usage_error(usage: str, prog: str, message: str) -> UsageError:
  """The error of a bad command line: the usage, then `prog: error: message`; exit status 2."""
  return UsageError(f"{usage}\n{prog}: error: {message}", 2)


def report(error: UsageError) -> int:
  """Prints `error` (stdout for --help, else stderr) and returns its exit status."""
  print(error, file=sys.stdout if error.code == 0 else sys.stderr)
  return error.code


def _unquote(error: Exception) -> str:
  """The message of a (possibly wrapped) KeyError, whose text ConfigDict quotes."""
  text = error.args[0] if error.args else str(error)
  while isinstance(text, Exception):
    text = text.args[0] if text.args else str(text)
  while isinstance(text, str) and len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
    text = ast.literal_eval(text)
  return str(text)


def _flags_help(flag_values: flags.FlagValues) -> str:
  """`flags:` and the help of every defined flag (without absl's per-module headers); "" if none."""
  lines = [line for module in flag_values.flags_by_module_dict()
           for line in flag_values.module_help(module).splitlines() if line.startswith(" ")]
  return "\n".join(["flags:", *lines]) if lines else ""


def _paragraphs(*texts: str) -> str:
  """The non-empty `texts`, stripped, a blank line between them."""
  return "\n\n".join(text.strip() for text in texts if text.strip())


def _positional_problem(positional: Sequence[str], args: list[str]) -> str | None:
  """What is wrong with `args` for the metavars `positional` (a last `NAME...`: one or more;
  `[NAME...]`: any number)."""
  many = bool(positional) and positional[-1].rstrip("]").endswith("...")
  needed = [name for name in positional if not name.startswith("[")]
  if len(args) < len(needed):
    return f"missing {' '.join(needed[len(args):])}"
  if len(args) > len(positional) and not many:
    return f"unexpected arguments: {shlex.join(args[len(positional):])}"
  return None


def parse(prog: str, argv: Sequence[str], define: Define | None = None,
          required: tuple[str, ...] = (), positional: Sequence[str] = (), description: str = ""
          ) -> tuple[flags.FlagValues, list[str]]:
  """Fresh flags parsed from `argv` and its positional arguments, which must match the metavars
  `positional` (a last one ending in `...` takes one or more, `[...]` any number); raises UsageError, or UserError
  for a `--config` file that does not exist or is not Python."""
  argv = list(argv)
  flag_values = flags.FlagValues()
  if define is not None:
    define(flag_values, [prog, *argv])
  flags_help = _flags_help(flag_values)
  synopsis = " ".join(["usage:", prog, *(["[flags]"] if flags_help else []), *positional])
  before_dashes = argv[:argv.index("--")] if "--" in argv else argv
  if "-h" in before_dashes or "--help" in before_dashes:
    raise UsageError(_paragraphs(synopsis, description, flags_help), 0)
  usage = _paragraphs(synopsis, flags_help)
  try:
    args = flag_values([prog, *argv])[1:]
    missing = [name for name in required if flag_values[name].value is None]
    if missing:
      raise flags.Error(f"missing required flags: {', '.join('--' + m for m in missing)}")
  except SyntaxError as e:  # raised while parsing --config: the file is not Python
    raise errors.UserError(f"config file {e.filename}:{e.lineno}: {e.msg}") from None
  except OSError as e:  # config_flags loading --config for an override: the file cannot be read
    reason = re.sub(r"^\[Errno \d+\] ", "", str(e).strip().splitlines()[-1].strip())
    raise errors.UserError(f"cannot load the config file: {reason}") from None
  except (KeyError, AttributeError) as e:  # a locked config rejecting an unknown override key
    raise usage_error(usage, prog, f"unknown config key {_unquote(e)}") from None
  except (flags.Error, ValueError, TypeError) as e:
    raise usage_error(usage, prog, _without_traceback(str(e))) from None
  problem = _positional_problem(positional, args)
  if problem:
    raise usage_error(usage, prog, problem)
  if "config" in flag_values and flag_values["config"].present:
    # config_flags defers a missing file's error to a traceback at the config's first use.
    config_file = flag_values["config"].config_filename.split(":", 1)[0]  # without its arg
    if not os.path.isfile(config_file):
      raise errors.NotFound(f"config file {config_file} does not exist")
  return flag_values, args


def _without_traceback(message: str) -> str:
  """A flag error without the traceback that ml_collections puts in the message when a config
  file's `get_config` raises: its first line and the exception's own line."""
  if "\nTraceback (most recent call last):" not in message:
    return message
  lines = [line for line in message.splitlines() if line.strip()]
  return f"{lines[0]} {lines[-1].split(': ', 1)[-1]}"


def parse_flags(prog: str, argv: Sequence[str], define: Define, required: tuple[str, ...] = ()
                ) -> flags.FlagValues:
  """`parse` for a command without positional arguments: its flags only."""
  return parse(prog, argv, define, required)[0]


def run_command(prog: str, argv: Sequence[str], run: Run, *, define: Define | None = None,
                required: tuple[str, ...] = (), positional: Sequence[str] = (),
                description: str = "") -> int:
  """Parses `argv` (see `parse`) and returns `run(flags, positional args)`, or prints the usage
  problem and returns its exit status."""
  try:
    flag_values, args = parse(prog, argv, define, required, positional, description)
  except UsageError as e:
    return report(e)
  return run(flag_values, args)


def config_and_workdir_flags(config_help: str, workdir_help: str) -> Define:
  """A `Define` for commands taking a locked `--config FILE[:ARG]` and a `--workdir DIR`."""

  def define(flag_values: flags.FlagValues, argv: list[str]) -> None:
    config_flags.DEFINE_config_file("config", None, config_help, flag_values=flag_values,
                                    lock_config=True, sys_argv=argv)
    flags.DEFINE_string("workdir", None, workdir_help, flag_values=flag_values)

  return define


def _known_encoding(name: str | None) -> bool:
  try:
    return name is None or bool(codecs.lookup(name))
  except LookupError:
    return False


def define_run(flag_values: flags.FlagValues) -> None:
  """`--workdir` (a trained run or one of its checkpoints, required by the command) and
  `--checkpoint` (best or latest), as `runs.load` takes them."""
  # Imported here: checkpoint pulls in JAX, which the `data` command does without.
  from polyglot_ner.train import checkpoint as checkpoint_lib  # pylint: disable=C0415
  flags.DEFINE_string("workdir", None, "run directory written by `polyglot-ner train`, or a "
                      "checkpoint path W/checkpoints/best/<step>, W/checkpoints/latest",
                      flag_values=flag_values)
  flags.DEFINE_enum("checkpoint", None, list(checkpoint_lib.SLOTS),
                    "which of the run's checkpoints to use (default: the one a checkpoint path "
                    "W/checkpoints/<slot>[/<step>] names, else best, else latest when the run has "
                    "not evaluated yet)", flag_values=flag_values)


def define_encoding(flag_values: flags.FlagValues, help_: str) -> None:
  """An `--encoding` flag (default None) that rejects an encoding Python does not know."""
  flags.DEFINE_string("encoding", None, help_, flag_values=flag_values)
  flags.register_validator("encoding", _known_encoding, "unknown encoding", flag_values=flag_values)


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
  """Whether two paths name one file: the same path, or one file through a link."""
  if os.path.abspath(a) == os.path.abspath(b):
    return True
  try:
    return os.path.samefile(a, b)
  except OSError:  # one of them does not exist: not the same file
    return False


def check_output(output: str | os.PathLike, *inputs: str | os.PathLike) -> None:
  """Refuses, before anything is read or written, an output that is one of the command's inputs:
  writing it would replace the input (and drop its other columns)."""
  for source in inputs:
    if _same_file(output, source):
      raise errors.UserError(f"the output {os.fspath(output)} is the input {os.fspath(source)}; "
                             "writing it would overwrite the input: choose another output file")
