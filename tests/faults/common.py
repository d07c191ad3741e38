"""What the fault, load and two-worker tests share (the rig itself: forumsync/testing/rig.py)."""
from forumsync.testing.rig import Client, FAST, Figures, Rig  # noqa: F401
