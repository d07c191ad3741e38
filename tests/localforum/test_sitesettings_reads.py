"""Site settings read once per request (forumsync/localforum/sitesettings.py): the values a
session sees are still the stored ones after a change, a rolled-back savepoint or another
session's change."""
from __future__ import annotations

from sqlalchemy import event

from forumsync.localforum import sitesettings
from forumsync.localforum.store import LocalForumStore


def test_site_settings_follow_changes_rollbacks_and_other_sessions(tmp_path):
    store = LocalForumStore(f"sqlite:///{tmp_path / 'forum.sqlite3'}")
    statements = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        default = sitesettings.DEFAULTS["min_post_length"][0]
        with store.session() as session:
            statements.clear()
            assert sitesettings.get(session, "min_post_length") == default
            assert sitesettings.get(session, "max_post_length") == sitesettings.DEFAULTS["max_post_length"][0]
            assert sitesettings.get(session, "min_topic_title_length") is not None
            reads = [s for s in statements if "site_settings" in s]
            assert len(reads) == 1, reads  # one read for the whole request
            sitesettings.set_value(session, "min_post_length", default + 5)
            assert sitesettings.get(session, "min_post_length") == default + 5
            nested = session.begin_nested()
            sitesettings.set_value(session, "min_post_length", default + 9)
            assert sitesettings.get(session, "min_post_length") == default + 9
            nested.rollback()
            assert sitesettings.get(session, "min_post_length") == default + 5
        with store.session() as other:
            assert sitesettings.get(other, "min_post_length") == default + 5
            sitesettings.set_value(other, "min_post_length", default + 7)
        with store.session() as session:
            assert sitesettings.get(session, "min_post_length") == default + 7
    finally:
        store.dispose()
