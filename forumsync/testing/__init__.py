"""Rigs shared by the test suite and the benchmarks (never used by the running service).

They run forumsync's real parts on loopback: settings for a throwaway installation, a
PostgreSQL 15 server, the local forum (served in-process to the test process through a
requests transport adapter, ``inprocess.py``, and on a socket to other processes), a w.c.s.
server, forumsync commands as separate processes. The pytest fixtures that hand them to tests live in tests/fixtures/.
"""
