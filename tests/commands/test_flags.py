"""The one command-line style: intermixed flags and positional arguments, `--help` on stdout with
status 0, usage problems as the usage then `<prog>: error: <message>` on stderr with status 2;
no command writes onto one of its inputs."""

import os

import pytest
from absl import flags

from polyglot_ner import __main__ as entry
from polyglot_ner.commands import flags as flags_lib


def define(flag_values, argv):
  del argv
  flags.DEFINE_string("root", None, "a root", flag_values=flag_values)
  flags.DEFINE_bool("strip", None, "strip or not", flag_values=flag_values)
  flags_lib.define_encoding(flag_values, "an encoding")


def parse(argv, positional=("IN", "OUT"), required=()):
  return flags_lib.parse("prog", argv, define, required, positional, "What prog does.")


def test_flags_and_positional_arguments_intermix():
  flag_values, args = parse(["a", "--root", "r", "--strip", "b"])
  assert args == ["a", "b"]
  assert (flag_values.root, flag_values.strip, flag_values.encoding) == ("r", True, None)
  flag_values, args = parse(["--nostrip", "--encoding=latin-1", "--", "-a", "--root"])
  assert args == ["-a", "--root"] and flag_values.strip is False
  assert flag_values.root is None and flag_values.encoding == "latin-1"
  assert parse(["a", "b", "c"], positional=("PATH...",))[1] == ["a", "b", "c"]
  assert parse([], positional=())[1] == []


@pytest.mark.parametrize("argv, positional, required, message", [
    (["a"], ("IN", "OUT"), (), "missing OUT"),
    ([], ("PATH...",), (), "missing PATH..."),
    (["a", "b", "c", "d"], ("IN", "OUT"), (), "unexpected arguments: c d"),
    (["a", "b", "--bogus"], ("IN", "OUT"), (), "Unknown command line flag 'bogus'"),
    (["a", "b", "--encoding=klingon"], ("IN", "OUT"), (),
     "flag --encoding=klingon: unknown encoding"),
    (["a", "b"], ("IN", "OUT"), ("root",), "missing required flags: --root"),
])
def test_usage_problems(argv, positional, required, message):
  with pytest.raises(flags_lib.UsageError) as error:
    parse(argv, positional, required)
  assert error.value.code == 2
  lines = str(error.value).splitlines()
  assert lines[0] == f"usage: prog [flags] {' '.join(positional)}".rstrip()
  assert "  --root: a root" in lines and "What prog does." not in lines
  assert lines[-1] == f"prog: error: {message}"


def test_run_command_runs_or_prints_the_usage(capsys):
  calls = []
  def run(flag_values, args):
    calls.append((flag_values, args))
    return 7
  assert flags_lib.run_command("prog", ["x", "--root=r"], run, define=define,
                               positional=("W",)) == 7
  assert calls[-1][0].root == "r" and calls[-1][1] == ["x"]
  assert flags_lib.run_command("prog", ["--", "-h"], run, positional=("W",)) == 7
  assert calls[-1][1] == ["-h"]  # after `--`, not a flag
  assert flags_lib.run_command("prog", ["x", "-h"], run, define=define, positional=("W",),
                               description="What prog does.") == 0
  captured = capsys.readouterr()
  assert captured.out.startswith("usage: prog [flags] W\n\nWhat prog does.\n\nflags:\n")
  assert captured.err == ""
  assert flags_lib.run_command("prog", [], run, positional=("W",)) == 2
  captured = capsys.readouterr()
  assert captured.err == "usage: prog W\nprog: error: missing W\n" and captured.out == ""
  assert len(calls) == 2


def alias(path, how):
  """Another name of `path`: itself, relative, a symbolic link or a hard link to it."""
  if how == "same path":
    return path
  if how == "relative":
    return os.path.relpath(path)
  other = path.parent / f"{how}.txt"
  (os.symlink if how == "symlink" else os.link)(path, other)
  return other


@pytest.mark.parametrize("how", ["same path", "relative", "symlink", "hard link"])
@pytest.mark.parametrize("command", [["data", "convert", "{input}", "{output}"],
                                     ["predict", "--workdir=no_run", "--input={input}",
                                      "--output={output}"]])
def test_no_command_writes_onto_its_input(tmp_path, capsys, command, how):
  source = tmp_path / "in.txt"
  source.write_text("Dakar LOC-X B-LOC\n", encoding="utf-8")
  output = alias(source, how)
  argv = [arg.format(input=source, output=output) for arg in command]
  assert entry.main(argv) == 1
  assert source.read_text(encoding="utf-8") == "Dakar LOC-X B-LOC\n"
  err = capsys.readouterr().err
  assert err.startswith(f"polyglot-ner {command[0]}: error: the output ")
  assert err.endswith(f" is the input {source}; writing it would overwrite the input: choose "
                      "another output file\n") and err.count("\n") == 1
