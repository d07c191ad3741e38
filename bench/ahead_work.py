"""The pool side's work per message (issue 15): its CPU, and a check that an optimisation
changed nothing (prints figures and digests, not a timed test).

    .venv/bin/python bench/ahead_work.py cpu [--rounds N] [--limit N]
    .venv/bin/python bench/ahead_work.py save FILE      # digests of the current code
    .venv/bin/python bench/ahead_work.py compare FILE   # the same digests, or the differences

``cpu``: processor time per message (``time.process_time``, median of the rounds) over
usrp-users-dev2k.mbox.gz for the raw parse under ``policy.default`` and ``compat32``, the
``AHEAD`` stages (what ``run_ahead`` does in a pool process, without its check) and
``ahead_checks.run``. The caches of the mail modules are emptied before each round: a pool
process sees each message once.

``save`` / ``compare``: for every message of both shared corpora, of tests/testdata and of
the demo mbox, a digest of what the ``AHEAD`` stages set in ``msgdata`` (value and key
order) or the exception they raised, of ``ahead_checks.run``'s answer, and — to exercise the
mail modules on more than the chosen alternative — of ``plain_to_markdown`` /
``html_to_markdown`` on every text part and of ``live_syntax`` (both onebox settings) on the
body and on every raw part text (mail as the sender wrote it, the hostile input).
"""
from __future__ import annotations

import argparse
import email
import email.policy
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from forumsync.testing.corpus import CORPUS, corpus_raws  # noqa: E402

CORPORA = {"usrp-users-dev2k.mbox.gz": "usrp-users@lists.ettus.com",
           "cocci-1k.mbox.gz": "cocci@systeme.lip6.fr"}
TESTDATA = ROOT / "tests" / "testdata"
DEMO = ROOT / "forumsync" / "demo" / "club-publik.mbox"


def sources():
    """(name, list address, [raw bytes]) of every message set the check runs over."""
    from forumsync.inbound.mbox import iter_mbox, open_mbox

    for name, address in CORPORA.items():
        path = CORPUS / name
        if not path.exists():
            sys.exit(f"corpus absent : {path} (FORUMSYNC_TESTDATA)")
        yield name, address, list(corpus_raws([path]))
    yield "testdata", None, [p.read_bytes() for p in sorted(TESTDATA.glob("*.eml"))]
    with open_mbox(DEMO) as stream:
        yield "demo", None, [m.raw for m in iter_mbox(stream) if m.raw is not None]


class StageContext:
    """What the AHEAD stages read from ``ctx``: its settings."""

    def __init__(self, address):
        from forumsync.settings import Settings

        self.settings = Settings({"LIST_ADDRESS": address} if address else {}, "<bench>")


def ahead_stages() -> tuple:
    from forumsync.pipeline.ahead_pool import AHEAD

    return AHEAD


def run_stages(ctx, raw: bytes) -> dict:
    """The AHEAD stages over RAW, as a pool process runs them: their msgdata (or they raise)."""
    from forumsync.mail import parse_bytes

    msgdata = dict(SEED)
    msg = parse_bytes(raw)
    for stage in ahead_stages():
        stage.process(ctx, msg, msgdata)
    return msgdata


def canonical(value) -> str:
    """A value-based rendition (pickle's memo would depend on object identity)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{canonical(k)}:{canonical(v)}" for k, v in
                              sorted(value.items(), key=lambda kv: repr(kv[0]))) + "}"
    if isinstance(value, (list, tuple)):
        return type(value).__name__ + "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "set[" + ",".join(sorted(canonical(v) for v in value)) + "]"
    return f"{type(value).__name__}:{value!r}"


# post_limits.max_post_chars of the local forum (max_post_length 32,000, Discourse's default):
# a longer body is checked as its cut, as in an import (ahead_checks)
LOCAL_FORUM_CUT_OVER = 30000

SEED = {"inbox_id": 1, "channel": "mbox", "message_id": None, "received_at": None, "meta": {},
        "attempt": 1}


def _leaf_texts(raw: bytes):
    """(content type, text) of every text/plain or text/html leaf, decoded by the stdlib."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("text/plain", "text/html") and not part.is_multipart():
            data = part.get_payload(decode=True) or b""
            yield ctype, data.decode(part.get_content_charset() or "utf-8", "replace") \
                if _known(part.get_content_charset()) else data.decode("utf-8", "replace")


def _known(charset) -> bool:
    import codecs

    try:
        return bool(charset) and bool(codecs.lookup(charset))
    except LookupError:
        return False


def digest_one(ctx, raw: bytes) -> dict:
    from forumsync.mail.html import html_to_markdown
    from forumsync.mail.inert import live_syntax
    from forumsync.mail.text import plain_to_markdown
    from forumsync.pipeline import ahead_checks

    out = {}
    try:
        msgdata = run_stages(ctx, raw)
        out["msgdata"] = canonical(msgdata) + canonical(list(msgdata))
        out["checks"] = canonical(ahead_checks.run(msgdata))
        body = (msgdata.get("body") or "").strip()
        out["body_live"] = canonical([live_syntax(body, (), onebox=False),
                                      live_syntax(body, ("cid:x",), onebox=True)])
    except Exception as exc:
        out["raised"] = f"{type(exc).__name__}:{exc.args!r}"
    parts = []
    for ctype, text in _leaf_texts(raw):
        converted = plain_to_markdown(text) if ctype == "text/plain" else html_to_markdown(text)
        parts.append([converted, live_syntax(text, (), onebox=True), live_syntax(text, (), onebox=False),
                      live_syntax(converted, (), onebox=True)])
    out["parts"] = canonical(parts)
    return {key: hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:20]
            for key, value in out.items()}


def digests() -> dict:
    result = {}
    for name, address, raws in sources():
        ctx = StageContext(address)
        for index, raw in enumerate(raws):
            result[f"{name}#{index}"] = digest_one(ctx, raw)
        print(f"{name} : {len(raws)} messages", file=sys.stderr)
    return result


def compare(path: str) -> int:
    reference = json.loads(Path(path).read_text())
    current = digests()
    differ = [key for key in reference if reference[key] != current.get(key)]
    extra = [key for key in current if key not in reference]
    for key in differ[:30]:
        fields = [f for f in set(reference[key]) | set(current.get(key, {}))
                  if reference[key].get(f) != current.get(key, {}).get(f)]
        print(f"DIFFÉRENT {key} : {sorted(fields)}")
    print(f"{len(reference)} messages de référence, {len(current)} maintenant ; "
          f"{len(differ)} différents, {len(extra)} nouveaux")
    return 1 if differ or extra else 0


# ------------------------------------------------------------------ CPU per message
def forget_caches() -> None:
    """Empty the memo caches of the mail modules (not the parser singletons): each round
    must pay for the first sight of each message, as a pool process does."""
    from forumsync import markdown_memo

    markdown_memo.clear_all()
    for name, module in list(sys.modules.items()):
        if not name.startswith(("forumsync.mail", "forumsync.pipeline")):
            continue
        for value in vars(module).values():
            info = getattr(value, "cache_info", None)
            if info is not None and (info().maxsize or 0) > 1:
                value.cache_clear()


def cpu(rounds: int, limit: int | None) -> None:
    from forumsync.mail.boundary import stdlib_feedparser
    from forumsync.pipeline import ahead_checks

    name = "usrp-users-dev2k.mbox.gz"
    raws = list(corpus_raws([CORPUS / name], limit))
    ctx = StageContext(CORPORA[name])
    prepared = []

    def ahead():
        prepared.clear()
        forget_caches()
        for raw in raws:
            try:
                prepared.append(run_stages(ctx, raw))
            except Exception:
                continue

    def checks():
        for msgdata in prepared:  # as a pool process of an import into the local forum does
            ahead_checks.run(msgdata, LOCAL_FORUM_CUT_OVER)

    def stdlib_parse(policy):
        with stdlib_feedparser():  # the baseline is the standard library as shipped
            for raw in raws:
                email.message_from_bytes(raw, policy=policy)

    measures = {
        "analyse brute policy.default": lambda: stdlib_parse(email.policy.default),
        "analyse brute compat32": lambda: stdlib_parse(email.policy.compat32),
        "étapes AHEAD (sans le contrôle)": ahead,
        "ahead_checks.run (live_syntax)": checks,
    }
    ahead()  # imports, caches
    samples = {key: [] for key in measures}
    for _ in range(rounds):
        for key, run in measures.items():
            start = time.process_time()
            run()
            samples[key].append((time.process_time() - start) * 1000 / len(raws))
    medians = {key: statistics.median(values) for key, values in samples.items()}
    print(f"{len(raws)} messages ({name}), {rounds} tours, médiane (min–max) en ms de processeur par message :")
    for key, values in samples.items():
        print(f"  {key:42} {medians[key]:6.2f}  ({min(values):.2f}–{max(values):.2f})")
    pool = medians["étapes AHEAD (sans le contrôle)"] + medians["ahead_checks.run (live_syntax)"]
    print(f"  côté pool (étapes + contrôle)              {pool:6.2f} ms = "
          f"{pool / medians['analyse brute policy.default']:.2f} × l'analyse brute policy.default, "
          f"{pool / medians['analyse brute compat32']:.2f} × compat32")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    measure = sub.add_parser("cpu")
    measure.add_argument("--rounds", type=int, default=5)
    measure.add_argument("--limit", type=int)
    sub.add_parser("save").add_argument("file")
    sub.add_parser("compare").add_argument("file")
    args = parser.parse_args()
    if args.command == "cpu":
        cpu(args.rounds, args.limit)
    elif args.command == "save":
        Path(args.file).write_text(json.dumps(digests(), indent=0, sort_keys=True))
        print(f"digests écrits dans {args.file}")
    else:
        sys.exit(compare(args.file))


if __name__ == "__main__":
    main()
