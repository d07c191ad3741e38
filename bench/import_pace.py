"""History import at Discourse's pace, against HyperKitty, in one run (prints figures, not a test).

    .venv/bin/python bench/import_pace.py [--limit N] [--no-hyperkitty] [--no-own-work]

Prints, for the same mbox (../shared/corpus/usrp-users-dev2k.mbox.gz, 1,992 messages):

1. the raw parse rate of ``email.message_from_bytes`` under ``email.policy.default`` AND under
   ``compat32`` (the stdlib's default), each ratio saying which one it divides by;
2. the pipeline's own work: this process runs the stages (``run_pending`` as import-mbox does:
   claims of ``IMPORT_CLAIM`` rows, batches) against the local forum served by another
   process without limiter; own work = messages / (wall time − time the main side waited on
   the forum: inside its own forum requests, and for the answer of a batch sent ahead), with
   the process pool (PIPELINE_POOL_SIZE default: one fewer than the CPUs), with two pool
   processes (the default before 6 December 2026 on this 2-CPU machine) and without;
3. end to end: ``forumsync localforum`` as a subprocess (its site-wide admin API limiter at
   60/min, Discourse's max_admin_api_reqs_per_minute, through LOCALFORUM_RATE_LIMIT), then
   ``forumsync provision`` and ``forumsync import-mbox`` as subprocesses on a fresh SQLite
   database: messages/s (wall time of import-mbox), forum requests per message and 429s (as
   counted by the forum process itself), peak RSS (VmHWM) of the import process, of its pool
   processes and of the forum process, and the peak of the import's processes together
   (their PSS summed, polled: a page they share counts once); then the same import without
   the pool (``PIPELINE_POOL_SIZE=0``: one process), for its rate and memory;
4. HyperKitty 1.3.12's ``hyperkitty_import`` (bench/.venv-hyperkitty, SQLite,
   ``--no-sync-mailman``) on the same mbox decompressed, after ``migrate``, just before and just
   after import-mbox (the load of a shared machine changes): messages/s, peak RSS.

The forum subprocess is ``forumsync localforum`` itself, started through this file
(``--serve-forum``) only to count what it answered (requests and the limiter's 429s) and
write the counts when asked (SIGUSR1): nothing else of the forum changes.
"""
from __future__ import annotations

import argparse
import email
import email.policy
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from forumsync.testing.corpus import CORPUS as CORPUS_DIR  # noqa: E402

CORPUS = CORPUS_DIR / "usrp-users-dev2k.mbox.gz"
VENV = ROOT / ".venv" / "bin"
HK_VENV = ROOT / "bench" / ".venv-hyperkitty" / "bin"
LIST = "usrp-users@lists.ettus.com"
THEMES = [dict(slug="general", name="Discussions générales", description="Tout le reste des discussions de la liste")]


# ------------------------------------------------------------------ helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(folder: Path, port: int, rate_limit: int, pace: int, **extra) -> Path:
    values = dict(DATABASE_URL=f"sqlite:///{folder / 'forumsync.sqlite3'}",
                  LOCALFORUM_DATABASE_URL=f"sqlite:///{folder / 'localforum.sqlite3'}",
                  FORUM_URL=f"http://127.0.0.1:{port}", FORUM_API_KEY="bench-key",
                  FORUM_API_USERNAME="system", THEMES=THEMES, DEFAULT_THEME="general",
                  LIST_ADDRESS=LIST, LOCALFORUM_RATE_LIMIT=rate_limit,
                  FORUM_MAX_REQUESTS_PER_MINUTE=pace, **extra)
    path = folder / "settings.py"
    path.write_text("".join(f"{key} = {value!r}\n" for key, value in values.items()), encoding="utf-8")
    return path


def _proc_kb_as_mb(path: str, field: str) -> float | None:
    """The « FIELD: N kB » line of a /proc file, in MB (None when the process is gone)."""
    try:
        with open(path) as lines:
            for line in lines:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident set of a live process (VmHWM), in MB."""
    return _proc_kb_as_mb(f"/proc/{pid}/status", "VmHWM:")


def pss_mb(pid: int) -> float | None:
    """Proportional set size of a live process (its private pages, and its share of the pages
    it shares with others: summed over processes, each page counts once), in MB."""
    return _proc_kb_as_mb(f"/proc/{pid}/smaps_rollup", "Pss:")


class PeakWatcher(threading.Thread):
    """Polls VmHWM of a process and its descendants until it exits (peak per pid), and the
    sum of their PSS (``tree_pss``: the most the process tree held at once, polled)."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peaks: dict[int, float] = {}
        self.cpu: dict[int, float] = {}  # CPU seconds last seen (polled: within one interval)
        self.names: dict[int, str] = {}
        self.tree_pss = 0.0
        self.stop = threading.Event()

    def run(self):
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.stop.is_set():
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.Error:
                break
            self.tree_pss = max(self.tree_pss, sum(pss_mb(proc.pid) or 0 for proc in procs))
            for proc in procs:
                peak = vm_hwm_mb(proc.pid)
                try:
                    times = proc.cpu_times()
                    self.cpu[proc.pid] = times.user + times.system
                except psutil.Error:
                    pass
                if peak is not None:
                    self.peaks[proc.pid] = max(peak, self.peaks.get(proc.pid, 0))
                    if proc.pid not in self.names:
                        try:
                            self.names[proc.pid] = " ".join(proc.cmdline()[1:3])[:60]
                        except psutil.Error:
                            self.names[proc.pid] = "?"
            self.stop.wait(self.interval)

    def others(self) -> list[float]:
        return sorted((mb for pid, mb in self.peaks.items() if pid != self.pid), reverse=True)


def run_watched(cmd, env=None, cwd=None) -> tuple[float, PeakWatcher, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watcher = PeakWatcher(proc.pid)
    watcher.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    watcher.stop.set()
    watcher.join(2)
    done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if proc.returncode not in (0, 65):  # 65: import-mbox finished, with refusals (its summary)
        sys.stderr.write(f"échec de {' '.join(map(str, cmd))} :\n{err.decode(errors='replace')[-3000:]}\n")
    return seconds, watcher, done


def corpus_raws(limit=None):
    from forumsync.testing.corpus import corpus_raws as raws

    return raws([CORPUS], limit)


def plain_mbox(folder: Path, limit=None) -> Path:
    """The corpus decompressed (HyperKitty reads plain mbox), cut at LIMIT messages."""
    target = folder / "corpus.mbox"
    if limit is None:
        with gzip.open(CORPUS, "rb") as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)
        return target
    import mailbox

    box = mailbox.mbox(str(target))
    for raw in corpus_raws(limit):
        box.add(raw)
    box.close()
    return target


# ------------------------------------------------------------------ 1. raw parse rates
def raw_rates(raws) -> dict:
    """The standard library's parse as shipped (``mail.boundary`` taken out meanwhile)."""
    from forumsync.mail.boundary import stdlib_feedparser

    out = {}
    for name, policy in (("default", email.policy.default), ("compat32", email.policy.compat32)):
        start, cpu = time.perf_counter(), time.process_time()
        with stdlib_feedparser():
            for raw in raws:
                email.message_from_bytes(raw, policy=policy)
        out[name] = len(raws) / (time.perf_counter() - start)
        out[name + "_cpu"] = len(raws) / (time.process_time() - cpu)
    return out


# ------------------------------------------------------------------ the forum subprocess
def serve_forum(settings_path: str, stats_path: str) -> None:
    """``forumsync localforum`` with its answers counted (SIGUSR1 writes them to STATS_PATH)."""
    from forumsync import cli as cli_module
    from forumsync.localforum import app as app_module

    apps = []
    original = app_module.create_localforum_app

    def capturing(*args, **kwargs):
        app = original(*args, **kwargs)
        apps.append(app)
        return app

    app_module.create_localforum_app = capturing

    def dump(_signum, _frame):
        forum = apps[0].extensions["localforum"] if apps else None
        data = {"requests": 0, "refused": 0, "paths": {}}
        if forum is not None:
            log = list(forum.faults.requests)
            data = {"requests": len(log), "refused": forum.limiter.refused,
                    "paths": {f"{m} {p}": n for (m, p), n in Counter(log).items()}}
        Path(stats_path + ".tmp").write_text(json.dumps(data))
        os.replace(stats_path + ".tmp", stats_path)

    signal.signal(signal.SIGUSR1, dump)
    cli_module.cli.main(["--settings", settings_path, "localforum", "--no-webhooks"],
                        prog_name="forumsync")


class ForumProcess:
    """The local forum in its own process; WATCH: poll its peak memory (a thread of this
    process: own_work does not, that thread's CPU is no work of the import)."""

    def __init__(self, folder: Path, settings_path: Path, port: int, watch: bool = True):
        self.stats = folder / f"forum-stats-{port}.json"
        self.proc = subprocess.Popen([str(VENV / "python"), __file__, "--serve-forum", str(settings_path),
                                      str(self.stats)], stdout=subprocess.DEVNULL,
                                     stderr=open(folder / f"forum-{port}.log", "wb"))
        self.watcher = PeakWatcher(self.proc.pid) if watch else None
        if self.watcher is not None:
            self.watcher.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise SystemExit(f"le forum local s'est arrêté ; voir {folder}/forum-{port}.log")
                time.sleep(0.1)
        raise SystemExit("le forum local ne répond pas")

    def counts(self) -> dict:
        if self.stats.exists():
            self.stats.unlink()
        self.proc.send_signal(signal.SIGUSR1)
        for _ in range(100):
            if self.stats.exists():
                return json.loads(self.stats.read_text())
            time.sleep(0.05)
        raise SystemExit("le forum local ne donne pas ses compteurs")

    def stop(self) -> float:
        peak = vm_hwm_mb(self.proc.pid) or 0
        if self.watcher is not None:
            self.watcher.stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return max(peak, self.watcher.peaks.get(self.proc.pid, 0) if self.watcher else 0)


def cli_env() -> dict:
    env = dict(os.environ)
    env.pop("FORUMSYNC_SETTINGS", None)
    return env


# ------------------------------------------------------------------ 2. own work (in process)
def process_cpu(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def children_cpu(forum_pid: int) -> float:
    """CPU seconds used so far by this process's descendants still alive but the forum (the
    pool processes)."""
    import psutil

    total = 0.0
    forum = {forum_pid} | {p.pid for p in psutil.Process(forum_pid).children(recursive=True)}
    for child in psutil.Process().children(recursive=True):
        if child.pid in forum:
            continue
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total



def own_work(raws, pool_size, profile: str | None = None) -> dict:
    """Stages in this process (as import-mbox runs them) against a forum in another process
    without limiter; forum time measured around each gateway request."""
    from forumsync.commands.import_mbox import IMPORT_CLAIM
    from forumsync.context import Context
    from forumsync.forum.gateway import ForumGateway
    from forumsync.inbound.ingest import Refused, ingest
    from forumsync.pipeline import batch_send, prepare, runner
    from forumsync.settings import load_settings

    folder = Path(tempfile.mkdtemp(prefix="bench-own-"))
    port = free_port()
    settings_path = write_settings(folder, port, rate_limit=0, pace=0)
    forum = ForumProcess(folder, settings_path, port, watch=False)
    try:
        subprocess.run([str(VENV / "forumsync"), "--settings", str(settings_path), "provision"],
                       check=True, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ctx = Context(load_settings(settings_path).replace(PIPELINE_POOL_SIZE=pool_size))
        start = time.perf_counter()
        for raw in raws:
            try:
                ingest(ctx, raw, "mbox")
            except Refused:
                pass
        ingest_seconds = time.perf_counter() - start
        clock = {"seconds": 0.0}
        original = ForumGateway._request
        main_thread = threading.current_thread()

        def timed(gateway, *args, **kwargs):
            if threading.current_thread() is not main_thread:  # a batch sent ahead: overlapped,
                return original(gateway, *args, **kwargs)      # its wait is counted when it lands
            began = time.perf_counter()
            try:
                return original(gateway, *args, **kwargs)
            finally:
                clock["seconds"] += time.perf_counter() - began

        ForumGateway._request = timed
        before = Counter(prepare.STATS)
        landing_before = batch_send.STATS["landing_wait_ms"]
        start, cpu, pool_cpu = time.perf_counter(), time.process_time(), children_cpu(forum.proc.pid)
        forum_cpu = process_cpu(forum.proc.pid)
        handled = 0
        profiler = None
        if profile:
            import cProfile

            # CPU time of this thread (the publishing side), not wall time: under load, wall
            # time blames whatever call let another thread or process take the core.
            profiler = cProfile.Profile(time.thread_time)
            profiler.enable()
        try:
            while True:
                done = runner.run_pending(ctx, "bench", limit=IMPORT_CLAIM, batch_threshold=1)
                handled += done
                if not done:
                    break
        finally:
            ForumGateway._request = original
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(profile)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        clock["seconds"] += (batch_send.STATS["landing_wait_ms"] - landing_before) / 1000
        pool_cpu = children_cpu(forum.proc.pid) - pool_cpu
        forum_cpu = process_cpu(forum.proc.pid) - forum_cpu
        flushes = {key[len("batch_flush_"):]: value for key, value in ctx.forum.stats.items()
                   if key.startswith("batch_flush_")}
        batch_items = ctx.forum.stats["batch_items"]
        pooled = prepare.STATS["pool"] - before["pool"]
        stolen = prepare.STATS["stolen"] - before["stolen"]
        waited = (prepare.STATS["waited_ms"] - before["waited_ms"]) / 1000
        ctx.close()
    finally:
        forum.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return dict(handled=handled, seconds=seconds, forum=clock["seconds"], cpu=cpu,
                ingest=ingest_seconds, pooled=pooled, stolen=stolen, waited=waited, flushes=flushes, pool_cpu=pool_cpu,
                forum_cpu=forum_cpu,
                per_batch=batch_items / max(1, sum(flushes.values())))


# ------------------------------------------------------------------ 3. end to end
def end_to_end(mbox: Path, read: int, **extra) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    port = free_port()
    settings_path = write_settings(folder, port, rate_limit=60, pace=60, **extra)
    forum = ForumProcess(folder, settings_path, port)
    try:
        cmd = [str(VENV / "forumsync"), "--settings", str(settings_path)]
        began = time.perf_counter()
        subprocess.run(cmd + ["provision"], check=True, env=cli_env(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        provision_seconds = time.perf_counter() - began
        before = forum.counts()
        seconds, watcher, done = run_watched(cmd + ["import-mbox", "--no-progress", str(mbox)], env=cli_env())
        after = forum.counts()
        forum_peak = forum.stop()
    finally:
        if forum.proc.poll() is None:
            forum.stop()
    paths = Counter(after["paths"])
    paths.subtract(before["paths"])
    summary = done.stdout.decode(errors="replace")
    shutil.rmtree(folder, ignore_errors=True)
    return dict(seconds=seconds, returncode=done.returncode, summary=summary,
                requests=after["requests"] - before["requests"], refused=after["refused"] - before["refused"],
                paths=+paths, import_peak=watcher.peaks.get(watcher.pid, 0), pool_peaks=watcher.others(), tree_pss=watcher.tree_pss,
                import_cpu=watcher.cpu.get(watcher.pid, 0),
                pool_cpu=sum(cpu for pid, cpu in watcher.cpu.items() if pid != watcher.pid),
                forum_peak=forum_peak, read=read, provision_requests=before["requests"],
                provision_seconds=provision_seconds)


# ------------------------------------------------------------------ 4. HyperKitty
def hyperkitty(mbox: Path) -> dict | None:
    admin = HK_VENV / "django-admin"
    if not admin.exists():
        print(f"HyperKitty absent ({admin}) : lancer bench/hyperkitty/setup.sh", file=sys.stderr)
        return None
    folder = Path(tempfile.mkdtemp(prefix="bench-hk-"))
    env = dict(os.environ, HK_BENCH_DIR=str(folder))
    base = [str(admin)]
    tail = ["--settings", "settings", "--pythonpath", str(ROOT / "bench" / "hyperkitty")]
    subprocess.run(base + ["migrate", "-v", "0"] + tail, check=True, env=env, stdout=subprocess.DEVNULL)
    seconds, watcher, done = run_watched(base + ["hyperkitty_import"] + tail +
                                         ["-l", LIST, "--no-sync-mailman", str(mbox)], env=env)
    import sqlite3

    with sqlite3.connect(folder / "hyperkitty.sqlite3") as db:
        stored = db.execute("select count(*) from hyperkitty_email").fetchone()[0]
    shutil.rmtree(folder, ignore_errors=True)
    return dict(seconds=seconds, stored=stored, peak=watcher.peaks.get(watcher.pid, 0),
                returncode=done.returncode)


# ------------------------------------------------------------------ report
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="premiers N messages du corpus")
    parser.add_argument("--no-hyperkitty", action="store_true")
    parser.add_argument("--no-own-work", action="store_true")
    parser.add_argument("--profile", metavar="FICHIER",
                        help="profil cProfile du processus principal, temps processeur de son fil "
                             "(travail propre, avec pool) ; "
                             "seulement cette mesure")
    parser.add_argument("--serve-forum", nargs=2, metavar=("SETTINGS", "STATS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_forum:
        return serve_forum(*args.serve_forum)
    if not CORPUS.exists():
        raise SystemExit(f"corpus absent : {CORPUS}")
    from forumsync.pipeline.ahead_pool import pool_size
    from forumsync.settings import Settings

    load_start = os.getloadavg()
    raws = list(corpus_raws(args.limit))
    n = len(raws)
    print(f"corpus : {CORPUS.name}, {n} messages ; machine : {os.cpu_count()} processeurs, "
          f"charge (load average 1/5/15 min) au début {load_start[0]:.2f} / {load_start[1]:.2f} / {load_start[2]:.2f}")
    rates = raw_rates(raws)
    default, compat = rates["default"], rates["compat32"]
    print(f"[1] analyse brute email.message_from_bytes, policy=email.policy.default : {default:,.1f} msg/s "
          f"({rates['default_cpu']:,.1f}/s de temps processeur)")
    print(f"    analyse brute email.message_from_bytes, policy=compat32 (défaut de la stdlib) : {compat:,.1f} msg/s "
          f"({rates['compat32_cpu']:,.1f}/s de temps processeur)")
    pool_default = pool_size(Settings({}))
    if args.profile:
        own = own_work(raws, pool_default, args.profile)
        print(f"profil du processus principal écrit dans {args.profile} ({own['handled']} messages en "
              f"{own['seconds']:.1f} s dont {own['forum']:.1f} s dans les requêtes au forum)")
        return
    if not args.no_own_work:
        # the default, two pool processes (the default before 6 December: one per CPU), none
        before = rates
        for size in dict.fromkeys((pool_default, 2, 0)):
            own = own_work(raws, size)
            # The raw parse just before and just after this measure: the shared machine's speed
            # drifts within minutes (22 % between two runs of one half hour), so each ratio is
            # taken against the mean of the two, as HyperKitty's below.
            after = raw_rates(raws)
            bracket = {key: (before[key] + after[key]) / 2 for key in before}
            print(f"    analyse brute policy.default juste avant / juste après : {before['default']:,.1f} / "
                  f"{after['default']:,.1f} msg/s (rapports ci-dessous : à leur moyenne)")
            default, compat, before = bracket["default"], bracket["compat32"], after
            own_rate = own["handled"] / (own["seconds"] - own["forum"])
            label = f"pool de {size} processus" if size else "sans pool (PIPELINE_POOL_SIZE=0)"
            print(f"[2] travail propre du pipeline, {label} : {own_rate:,.1f} msg/s "
                  f"({own['handled']} messages en {own['seconds']:.1f} s dont {own['forum']:.1f} s à attendre "
                  f"le forum ; {own['pooled']} préparés d'avance dont {own['stolen']} par le processus "
                  f"principal pendant qu'il aurait attendu, {own['waited']:.1f} s d'attente "
                  f"de leurs résultats ; processeur du processus "
                  f"principal {own['cpu'] / own['handled'] * 1000:.1f} ms/msg ; ingestion à part : "
                  f"{own['handled'] / own['ingest']:,.0f} msg/s)")
            main_ms, pool_ms = own["cpu"] / own["handled"] * 1000, own["pool_cpu"] / own["handled"] * 1000
            raw_ms = 1000 / bracket["default_cpu"]
            capacity = min(1000 / main_ms, 2000 / (main_ms + pool_ms)) if size else 1000 / main_ms
            print(f"    temps processeur par message : processus principal {main_ms:.1f} ms, pool {pool_ms:.1f} ms "
                  f"(analyse brute policy.default : {raw_ms:.1f} ms) ; débit que ce temps processeur permet "
                  f"sur 2 cœurs libres : {capacity:,.0f} msg/s = {capacity / bracket['default_cpu']:.2f} × "
                  f"l'analyse brute policy.default (en temps processeur) ; forum local : "
                  f"{own['forum_cpu'] / own['handled'] * 1000:.1f} ms par message")
            print(f"    lots : {own['per_batch']:.1f} messages par lot en moyenne ; envoyés parce que : "
                  f"{dict(sorted(own['flushes'].items(), key=lambda kv: -kv[1]))}")
            print(f"    rapport à l'analyse brute policy.default : {own_rate / default:.2f} ; "
                  f"à l'analyse brute compat32 : {own_rate / compat:.2f} ; avec l'ingestion comptée : "
                  f"{own['handled'] / (own['seconds'] - own['forum'] + own['ingest']) / default:.2f} "
                  f"(policy.default)")
    with tempfile.TemporaryDirectory(prefix="bench-mbox-") as tmp:
        mbox = plain_mbox(Path(tmp), args.limit)
        # HyperKitty runs just before and just after import-mbox: the machine's load changes
        # within minutes, the ratio is taken against both runs' mean time.
        hk_runs = [] if args.no_hyperkitty else [hyperkitty(mbox)]
        e2e = end_to_end(mbox, n)
        rate = n / e2e["seconds"]
        print(f"[3] import-mbox de bout en bout (sous-processus) contre « forumsync localforum » (sous-processus, "
              f"limiteur admin API 60/min, FORUM_MAX_REQUESTS_PER_MINUTE=60) : {rate:,.1f} msg/s "
              f"({n} messages en {e2e['seconds']:.1f} s ; code de sortie {e2e['returncode']})")
        print(f"    requêtes au forum : {e2e['requests']} = {e2e['requests'] / n:.3f} par message ; "
              f"429 : {e2e['refused']} ; détail : {dict(e2e['paths'].most_common(6))}")
        from forumsync.forum.pacing import MARGIN

        window = 60 + MARGIN
        # the 61st request (provision's counted) waits for the 1st to leave the window
        total = e2e["provision_requests"] + e2e["requests"]
        floor = max(0.0, (total - 1) // 60 * window - e2e["provision_seconds"])
        print(f"    plancher du budget de requêtes (journal glissant de Discourse : 60 requêtes d'un coup, "
              f"puis une par place libérée après {window:.0f} s ; partagé avec « provision » juste avant, "
              f"{e2e['provision_requests']} requêtes en {e2e['provision_seconds']:.1f} s) : au plus "
              f"{floor:.0f} s pour {e2e['requests']} requêtes"
              + (f", soit au plus {n / floor:,.1f} msg/s à ce nombre de requêtes par message" if floor else ""))
        pool = ", ".join(f"{mb:.0f}" for mb in e2e["pool_peaks"]) or "aucun"
        print(f"    pic de RSS : import {e2e['import_peak']:.0f} Mo (ses autres processus — le pool, et le "
              f"forkserver et le resource tracker quand il y en a : {pool} Mo) ; forum {e2e['forum_peak']:.0f} Mo")
        print(f"    pic de mémoire de tous les processus de l'import ensemble (PSS additionnés : une page "
              f"partagée compte une fois) : {e2e['tree_pss']:.0f} Mo")
        print(f"    temps processeur par message : processus import-mbox {e2e['import_cpu'] / n * 1000:.1f} ms "
              f"(lecture, stockage et publication), ses processus de pool {e2e['pool_cpu'] / n * 1000:.1f} ms "
              f"(relevé toutes les 0,1 s)")
        print("    " + " | ".join(line.strip() for line in e2e["summary"].splitlines()[:5]))
        alone = end_to_end(mbox, n, PIPELINE_POOL_SIZE=0)
        print(f"[3 bis] la même chose sans pool (PIPELINE_POOL_SIZE=0 : un seul processus) : "
              f"{n / alone['seconds']:,.1f} msg/s ({alone['seconds']:.1f} s ; code {alone['returncode']}) ; "
              f"{alone['requests']} requêtes, 429 : {alone['refused']} ; pic de RSS {alone['import_peak']:.0f} Mo ; "
              f"tous ses processus ensemble (PSS) : {alone['tree_pss']:.0f} Mo")
        if hk_runs and hk_runs[0]:
            hk_runs.append(hyperkitty(mbox))
            for when, hk in zip(("avant", "après"), hk_runs):
                print(f"[4] hyperkitty_import 1.3.12 (SQLite, --no-sync-mailman), {when} import-mbox : "
                      f"{n / hk['seconds']:,.1f} msg/s ({hk['stored']} messages stockés en {hk['seconds']:.1f} s ; "
                      f"code {hk['returncode']}) ; pic de RSS {hk['peak']:.0f} Mo")
            mean = sum(hk["seconds"] for hk in hk_runs) / len(hk_runs)
            print(f"    import forumsync / HyperKitty (temps moyen des deux) : {rate / (n / mean):.2f}")
    load_end = os.getloadavg()
    print(f"charge à la fin : {load_end[0]:.2f} / {load_end[1]:.2f} / {load_end[2]:.2f}")


if __name__ == "__main__":
    main()
