"""The ``qa`` command with the test embedding double (qa/testing/fakes.py), for the kill harness.

    python -m qa.testing.crash_child --index DIR ingest FILE

Prints ``ready`` once imported, so the harness can time its kill from the command's real start.
"""
import sys

import qa.engine
from qa.cli import main
from qa.testing.fakes import HashEmbedder

qa.engine.default_embedder = lambda backend=None: HashEmbedder()  # QA() calls it for its embedder
print("ready", flush=True)
sys.exit(main(sys.argv[1:]))
