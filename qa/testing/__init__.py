"""Test helpers shipped with the package, for this project's tests and benchmarks (and anyone
testing code built on it), as Haystack ships ``haystack.testing``:

    fakes.py        HashEmbedder, a tiny deterministic embedding double (no model)
    crash.py        the kill harness: kill the writer at random moments and at every step of a
                    commit, then check that the index opens and holds the state before or after
    crash_child.py  ``python -m qa.testing.crash_child``: the ``qa`` command with the double
"""
