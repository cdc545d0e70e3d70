"""The commands' tests use the training tests' tiny flags and run (tests/train/conftest.py).

Imported fixtures are set up once per directory, so `trained_run` trains twice in a run of both
directories; moving these fixtures to tests/conftest.py would share one.
"""

from tests.train.conftest import tiny_flags  # noqa: F401  pylint: disable=unused-import
from tests.train.conftest import trained_run  # noqa: F401  pylint: disable=unused-import
