"""A process gives freed big buffers back to the system (forumsync.memory, set by the CLI)."""
import os
import platform
import subprocess
import sys

import pytest

PROBE = """
import sys
from forumsync.memory import give_big_buffers_back
def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))
if sys.argv[1] == "set":
    assert give_big_buffers_back()
big = bytearray(4 << 20); del big   # glibc's own thresholds rise to 4 MB
before = rss_mb()
buffers = [bytearray(200 * 1024) for _ in range(200)]   # 40 MB of a message's parts
last = buffers[-1]; del buffers     # one still held, at the top of the heap
print(rss_mb() - before)
"""


def kept_mb(mode: str) -> int:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}  # glibc's own
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                          env=env)
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or not os.path.exists("/proc/self/status"),
                    reason="seuils de malloc de glibc, mesurés dans /proc : Linux avec glibc seulement")
def test_freed_big_buffers_go_back_to_the_system():
    assert kept_mb("default") >= 20  # glibc alone keeps them: the control
    assert kept_mb("set") <= 5


def test_the_cli_sets_it_for_every_command(monkeypatch):
    from click.testing import CliRunner

    from forumsync import cli as cli_module

    calls = []
    monkeypatch.setattr(cli_module, "give_big_buffers_back", lambda: calls.append(1) or True)
    result = CliRunner().invoke(cli_module.cli, ["check-settings"])
    assert result.exit_code == 0, result.output
    assert calls == [1]


FREED_BELOW_THE_TOP = """
import sys
from forumsync.memory import give_big_buffers_back, release_free_pages
def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))
assert give_big_buffers_back()
before = rss_mb()
buffers = [bytearray(20 * 1024) for _ in range(2000)]   # 40 MB of parts under the mmap threshold
last = buffers[-1]; del buffers     # one still held, at the top of the heap: nothing to trim there
if sys.argv[1] == "release":
    assert release_free_pages()
print(rss_mb() - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or not os.path.exists("/proc/self/status"),
                    reason="malloc_trim de glibc, mesuré dans /proc : Linux avec glibc seulement")
def test_free_pages_below_the_top_of_the_heap_go_back_when_released():
    def kept(mode):
        env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
        done = subprocess.run([sys.executable, "-c", FREED_BELOW_THE_TOP, mode], capture_output=True,
                              text=True, check=True, env=env)
        return int(done.stdout)

    assert kept("keep") >= 30  # the thresholds alone: the control
    assert kept("release") <= 5


def test_message_done_releases_every_release_every_messages(monkeypatch):
    from forumsync import memory

    calls = []
    monkeypatch.setattr(memory, "release_free_pages", lambda: calls.append(1) or True)
    monkeypatch.setattr(memory, "_messages", iter(range(1, 10**6)))
    for _ in range(memory.RELEASE_EVERY * 3 - 1):
        memory.message_done()
    assert len(calls) == 2
    memory.message_done()
    assert len(calls) == 3
