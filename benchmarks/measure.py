"""Run a command; print its wall time and the peak resident memory of it and its children as JSON."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

start = time.perf_counter()
code = subprocess.call(sys.argv[1:])
seconds = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": round(seconds, 3), "max_rss_mib": round(peak_kib / 1024, 1), "exit": code}))
sys.exit(code)
