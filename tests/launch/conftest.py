"""The launch/ files run as scripts, not as a package: put their folder on the import path."""

import pathlib
import sys

LAUNCH_DIR = pathlib.Path(__file__).resolve().parents[2] / "launch"
sys.path.insert(0, str(LAUNCH_DIR))
