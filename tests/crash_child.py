"""The ``qa`` command with the test embedding double (tests/fakes.py), for the kill harness.

    python tests/crash_child.py --index DIR ingest FILE

Prints ``ready`` once imported, so the harness can time its kill from the command's real start.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakes import HashEmbedder  # noqa: E402

import qa.engine  # noqa: E402
from qa.cli import main  # noqa: E402

qa.engine.default_embedder = HashEmbedder  # QA() calls it for its embedder
print("ready", flush=True)
sys.exit(main(sys.argv[1:]))
