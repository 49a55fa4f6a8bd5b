"""kgc-launch: start an LLM inference server only with a config known to work on the GPUs at hand."""

import time

STARTED = time.perf_counter()
"""When kgc-launch's own code started (after the interpreter's start-up): launch timings count from here."""

__version__ = "0.1.0"
