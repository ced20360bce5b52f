"""`make bench`: how fast the assistant answers on this machine, each figure beside a reference measured in
the same run, written to BENCHMARKS.md. What each reference is and why: eval/README.md, "Benchmarks"."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QA = str(Path(sys.executable).parent / "qa")
