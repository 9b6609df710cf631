"""The long kill loop: SIGKILL `qa ingest` / `qa delete` / `qa compact` 500 times (or --rounds).

    python benchmarks/crash_loop.py [--rounds 500] [--seed 0] [--work DIR] [--json]

Each round runs one command in a subprocess on one growing index and kills it after a random
delay or at a named step of a commit (see qa/testing/crash.py for what is checked after every
round). Prints the tally; exits 1 if any round left a corrupt or mixed index or leftover files.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from qa.testing.crash import run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", help="folder for the index and input files (default: a temporary folder)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tally = run(a.rounds, Path(a.work or tmp), seed=a.seed, log=lambda m: print(m, file=sys.stderr, flush=True))
    out = tally.to_dict() | {"seconds": round(time.perf_counter() - t0, 1)}
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['rounds']} rounds in {out['seconds']} s: {out['killed']} killed "
              f"({', '.join(f'{k} {v}' for k, v in sorted(out['by_point'].items()))}), {out['finished']} finished; "
              f"ops {out['by_op']}")
        print(f"index did not open or answer: {out['bad_open']} · content not a before/after state: "
              f"{out['bad_state']} · leftovers after a finished command: {out['leftovers']} · most files a kill "
              f"left for the next writer: {out['max_transient']}")
        for e in out["errors"]:
            print("  " + e)
    return 0 if tally.ok and not tally.errors else 1


if __name__ == "__main__":
    sys.exit(main())
