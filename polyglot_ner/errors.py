"""The project's user errors: mistakes a person can fix (bad data, config, path or checkpoint).

Commands print these as one line, `polyglot-ner <command>: error: <message>`, and exit non-zero;
anything else is a bug and keeps its traceback. They subclass the built-in exception a caller would
expect (`ValueError`, `FileNotFoundError`), so library users can catch either.
"""


class UserError(ValueError):
  """A mistake in what the user gave: the message says what and where, in one sentence."""


class NotFound(UserError, FileNotFoundError):
  """A file, directory, corpus or checkpoint the user named does not exist."""
