"""The `polyglot-ner <command>` mains, one module per command, each `main(argv) -> int`.

They parse the command line (`flags`, one style for all), call the libraries and print; no logic
of their own. `polyglot_ner.__main__` dispatches to them and prints their user errors.
"""
