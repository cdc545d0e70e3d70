"""`host_memory.keep_freed_memory`: a freed large block comes back without new page faults."""

import subprocess
import sys

import pytest

# In a fresh interpreter (the allocator setting is process-wide): fault in a 64 MB block, free it,
# allocate and touch 64 MB again, and print the minor page faults of the second touch.
_PROBE = """
import ctypes, resource, sys
from polyglot_ner.train import host_memory
if sys.argv[1] == "keep":
  assert host_memory.keep_freed_memory()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
size = 64 << 20
block = libc.malloc(size); ctypes.memset(block, 1, size); libc.free(block)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
block = libc.malloc(size); ctypes.memset(block, 1, size)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
  result = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True,
                          check=True)
  return int(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_memory_is_reused_without_page_faults():
  pages = (64 << 20) // 4096
  assert _faults("default") > pages // 2  # glibc returned the block: every page faults again
  assert _faults("keep") < pages // 100
