"""Collection of the doctests in skmdn/: modules that need an optional extra."""

import importlib.util

# skmdn/_skpro.py imports skpro (the 'skpro' extra) at the top: without it
# there is nothing of it to test (tests/test_skpro.py says so as a skip).
collect_ignore = []
if importlib.util.find_spec("skpro") is None:
    collect_ignore.append("skmdn/_skpro.py")
