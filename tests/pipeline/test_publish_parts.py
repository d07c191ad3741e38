"""The parts publish is made of, each on its own: typed refusals raised by the gateway, the
pure composer, the refusal policy, the stages that decide before publish writes."""
import pytest

from forumsync.forum.gateway import ForumNotFound, ForumRejected
from forumsync.forum.refusals import (BODY_LONG, BODY_SHORT, TITLE_SHORT, TITLE_TAKEN, TITLE_UNCLEAR, BodyTooLong,
                                      ContentRefused, Forbidden, TitleTaken, TitleTooShort, refusal)
from forumsync.mail.ids import (LIST_EXTERNAL_ID_PREFIX, MARKER, discourse_post_message_id,
                                parse_discourse_message_id, post_marker, topic_external_id)
from forumsync.pipeline import closed_topic, draft, live_topic, refusal_policy
from forumsync.pipeline.attach import Attached
from forumsync.pipeline.errors import Quarantine
from tests.fixtures.pipeline import BASE_DATE, make_mail


# ---------------------------------------------------------------- markers (mail/ids.py)
def test_markers_are_built_and_read_in_one_place():
    marker = post_marker("abc@x.fr")
    assert marker.startswith(MARKER + " ") and marker.endswith(" -->")
    assert marker == post_marker("abc@x.fr") != post_marker("abd@x.fr")
    assert len(marker.split()[2]) == 24
    assert topic_external_id("<root@x.fr>").startswith(LIST_EXTERNAL_ID_PREFIX)
    assert topic_external_id("<root@x.fr>") == topic_external_id("root@x.fr")
    built = discourse_post_message_id(1234, "forum.example.org")
    assert parse_discourse_message_id(f"<{built}>", "forum.example.org") == 1234
    assert parse_discourse_message_id(built, "autre.example.org") is None


# ---------------------------------------------------------------- typed refusals
@pytest.mark.parametrize("status, errors, cls, problems", [
    (422, ["Title has already been used"], TitleTaken, {TITLE_TAKEN}),
    (422, ["Le titre a déjà été utilisé"], TitleTaken, {TITLE_TAKEN}),
    (422, ["Title is too short (minimum is 15 characters)", "Body is too short (minimum is 20 characters)"],
     TitleTooShort, {TITLE_SHORT, BODY_SHORT}),
    (422, ["Body is too long (maximum is 32000 characters)"], BodyTooLong, {BODY_LONG}),
    (422, ["Le corps est trop long"], BodyTooLong, {BODY_LONG}),
])
def test_content_refusals_are_typed_with_every_problem_named(status, errors, cls, problems):
    exc = refusal("refus", status, errors)
    assert type(exc) is cls and isinstance(exc, ContentRefused) and isinstance(exc, ForumRejected)
    assert exc.problems == problems and exc.status == status and exc.errors == errors


def test_other_refusals_keep_their_kind():
    assert type(refusal("x", 403, ["You are not permitted"], "invalid_access")) is Forbidden
    assert type(refusal("x", 404, ["not found"], "not_found")) is ForumNotFound
    plain = refusal("x", 422, ["Pièce jointe « a.exe » refusée par le forum : extension"])
    assert type(plain) is ForumRejected and not getattr(plain, "problems", None)


def test_the_gateway_raises_typed_refusals(pipe):
    """The local forum answers as Discourse does; the gateway picks the type."""
    gw, parent = pipe.ctx.forum, pipe.themes["sve"]
    with pytest.raises(TitleTooShort) as short:
        gw.topic_create("Court", "Un message assez long pour passer la limite.", parent)
    assert TITLE_SHORT in short.value.problems
    gw.topic_create("Un titre de sujet bien unique", "Un message assez long pour passer.", parent)
    with pytest.raises(TitleTaken):
        gw.topic_create("Un titre de sujet bien unique", "Un autre message assez long ici.", parent)
    gw.user_create("Paul Martin", "paul", "paul.martin@meyzieu.fr", "motdepasse-long-42")
    topic = gw.topic_create("Un sujet fermé pour les membres", "Premier message du sujet fermé.", parent)
    gw.topic_status_set(topic["topic_id"], "closed", True)
    with pytest.raises(Forbidden):
        gw.as_user("paul").post_create(topic["topic_id"], "Une réponse dans un sujet fermé.")


# ---------------------------------------------------------------- the pure composer
def _msgdata(**extra):
    return {"message_id": "m1@x.fr", "body": "Bonjour ![schéma](cid:img1) fin.", "date": BASE_DATE,
            "attribution": "*Message de @marie transmis depuis la liste Club*", **extra}


def test_the_composer_needs_no_forum():
    attached = Attached(links=["[plan.pdf|attachment](upload://plan.pdf)"],
                        cids=[("img1", "upload://img1.png")], inline=[("schéma", "upload://img1.png")],
                        own={"upload://plan.pdf", "upload://img1.png"}, budget=1000)
    composed = draft.compose(_msgdata(refused_attachments=[{"filename": "a.exe", "reason": "exécutable"}]),
                             attached, notice="*Sujet fermé*", topic_id=7, reply_to_post_number=2)
    raw = composed.raw
    assert raw.startswith("*Sujet fermé*") and raw.endswith(post_marker("m1@x.fr"))
    assert "![schéma](upload://img1.png)" in raw and "cid:" not in raw
    assert "[plan.pdf|attachment](upload://plan.pdf)" in raw
    assert "Pièce jointe non transmise : « a.exe » : exécutable" in raw
    assert "@marie" not in raw  # the attribution cannot mention anyone
    assert (composed.topic_id, composed.reply_to_post_number, composed.created_at) == (7, 2, BASE_DATE)
    staged = draft.compose(_msgdata(staged=True), Attached(budget=1000))
    assert MARKER not in staged.raw  # the plugin finds its posts by Message-ID
    assert staged.raw.endswith("Bonjour schéma fin.")  # an image the mail did not carry: its name


def test_fitting_dates_titles_pads_short_bodies_and_cuts_long_ones():
    composed = draft.compose(_msgdata(body="Oui."), Attached(budget=1000), title="Oui")
    fit = draft.fitted(composed, _msgdata(body="Oui."), {TITLE_TAKEN, BODY_SHORT}, list_name="Club",
                       when=BASE_DATE, max_chars=30000)
    assert fit.title == "Oui (Club, 02/03/2026 09:30)" and "messages trop courts" in fit.raw
    assert draft.fitted(composed, {}, {TITLE_SHORT}, list_name="Club", when=BASE_DATE,
                        max_chars=30000).title == "Oui (Club, 02/03/2026)"
    long = _msgdata(body=("Une ligne de texte.\n" * 3000) + "![vue](cid:img1)")
    attached = Attached(cids=[("img1", "upload://vue.png")], inline=[("vue", "upload://vue.png")], budget=1000)
    cut = draft.fitted(draft.compose(long, attached), long, {BODY_LONG}, list_name="Club",
                       when=BASE_DATE, max_chars=5000, full_text_url="upload://complet.txt")
    assert len(cut.raw) <= 5000 + 100
    assert "[message-complet.txt|attachment](upload://complet.txt)" in cut.raw
    assert "![vue](upload://vue.png)" in cut.raw  # the image whose place was cut is kept


def test_a_post_over_the_maximum_is_checked_only_as_it_is_published(monkeypatch):
    """The whole text of a post that will be cut is never checked (the costliest step of an
    import, for nothing); its cut and its attachment links are, and such a draft is always
    cut, whatever problems it is fitted to (never published whole, unchecked)."""
    from forumsync.mail import inert as inert_module
    from forumsync.pipeline import post_inert

    checked = []
    real = inert_module.live_syntax
    monkeypatch.setattr(post_inert, "live_syntax", lambda raw, *a, **k: checked.append(raw) or real(raw, *a, **k))
    long = _msgdata(body="Une ligne de texte.\n" * 600 + "Écrivez à @staff\n", staged=True)
    attached = Attached(links=["[note.pdf|attachment](forumsync-file:0)"], own={"forumsync-file:0"}, budget=1000)
    composed = draft.compose(long, attached, cut_over=5000)
    assert composed.checked is False and checked == []
    for problems in (set(), {BODY_LONG}):  # not told it is long: cut all the same
        checked.clear()
        cut = draft.fitted(composed, long, problems, list_name="Club", when=BASE_DATE, max_chars=5000,
                           full_text_url="forumsync-file:1")
        assert len(cut.raw) <= 5000 + 200 and "message-complet.txt" in cut.raw
        assert all(len(text) <= 5000 for text in checked) and len(checked) >= 2  # the cut, the links
        assert "[note.pdf|attachment](forumsync-file:0)" in cut.raw
    short = draft.compose(_msgdata(body="Écrivez à @staff", staged=True), Attached(budget=1000), cut_over=5000)
    assert short.checked is True and "@\u200bstaff" in short.raw  # a post published whole: checked whole


def test_a_long_unchecked_drafts_attached_image_stays_an_image():
    """The tail of a post cut unchecked is checked with all the post's own files: an attached
    image (not placed in the body) was taken for a foreign one and shown as escaped text."""
    long = _msgdata(body="Une ligne de texte.\n" * 600, staged=True)
    attached = Attached(links=["![logo.png](forumsync-file:0)"], own={"forumsync-file:0"}, budget=1000)
    composed = draft.compose(long, attached, cut_over=5000)
    assert composed.checked is False
    cut = draft.fitted(composed, long, {BODY_LONG}, list_name="Club", when=BASE_DATE, max_chars=5000,
                       full_text_url="forumsync-file:1")
    assert "\n![logo.png](forumsync-file:0)" in cut.raw


def test_a_long_unchecked_draft_has_its_live_tail_neutralised():
    long = _msgdata(body="Une ligne de texte.\n" * 600, staged=True)
    attached = Attached(notes=["« x » : écrivez à @staff"], budget=1000)
    composed = draft.compose(long, attached, cut_over=5000)
    cut = draft.fitted(composed, long, {BODY_LONG}, list_name="Club", when=BASE_DATE, max_chars=5000,
                       full_text_url="forumsync-file:0")
    assert "@staff" not in cut.raw and "@\u200bstaff" in cut.raw


# ---------------------------------------------------------------- one refusal policy
def test_the_policy_tries_files_apart_then_fixes_then_the_bridge(pipe):
    ctx = pipe.ctx
    msgdata = dict(message_id="p@x.fr", staged=True, from_email="jean@x.fr", from_name="Jean",
                   post_files=[("a.pdf", b"%PDF", "application/pdf")],
                   live_topic={"id": 1, "category_id": pipe.themes["sve"]})
    problems = set()
    refused = refusal("x", 422, ["Body is too short (minimum is 20 characters)"])
    assert refusal_policy.remedy(ctx, msgdata, refused, problems, False) is refusal_policy.Remedy.RECOMPOSE
    assert msgdata["files_apart"] is True
    assert refusal_policy.remedy(ctx, msgdata, refused, problems, False) is refusal_policy.Remedy.REFIT
    assert problems == {BODY_SHORT}
    assert refusal_policy.remedy(ctx, msgdata, refused, problems, False) is refusal_policy.Remedy.RECOMPOSE
    assert msgdata["username"] == ctx.settings.FORUM_API_USERNAME and msgdata["staged"] is False
    assert "Jean" in msgdata["attribution"]
    with pytest.raises(Quarantine, match="^le forum refuse encore ce message une fois ajusté "
                       r"\(message trop court"):  # nothing left: a French reason (53rd pass)
        refusal_policy.remedy(ctx, msgdata, refused, problems, False)
    # the bridge stands in for a refused account, never for a place its sender could not write in
    ctx.forum.category_update(pipe.themes["open-data"], permissions={"everyone": 3, "staff": 1})
    ctx.forum.facts.invalidate_categories()
    read_only = dict(message_id="q@x.fr", staged=True, from_email="jean@x.fr", from_name="Jean",
                     live_topic={"id": 2, "category_id": pipe.themes["open-data"]})
    forbidden = refusal("x", 403, ["not permitted"])
    # a refused place is decided again once, from fresh reads (red-team pass 18)...
    assert refusal_policy.remedy(ctx, read_only, forbidden, set(), False) is refusal_policy.Remedy.FOLLOW
    # ... and refused again there, the bridge does not stand in
    assert refusal_policy.remedy(ctx, read_only, forbidden, set(), False) is None
    assert read_only["staged"] is True and "attribution" not in read_only
    closed = dict(read_only, message_id="r@x.fr", place_followed=True,
                  live_topic={"id": 3, "category_id": pipe.themes["sve"], "closed": True})
    assert refusal_policy.remedy(ctx, closed, forbidden, set(), False) is None  # never in a closed topic
    assert "attribution" not in closed
    # a new topic's 403 where the categories read again choose the same open one: the account
    # is refused, not the place (no endless retry): the bridge stands in, once
    member = dict(message_id="s@x.fr", staged=False, username="marie", from_email="m@x.fr",
                  from_name="Marie", theme="sve")
    assert refusal_policy.remedy(ctx, member, forbidden, set(), True) is refusal_policy.Remedy.RECOMPOSE
    assert member["username"] == ctx.settings.FORUM_API_USERNAME
    # the plugin's refusal of the place is never a refused account: no bridge
    staged = dict(message_id="t@x.fr", staged=True, from_email="j@x.fr", from_name="Jean", theme="sve")
    closed_category = refusal("x", 422, ["fermée"], "category_closed")
    assert refusal_policy.remedy(ctx, staged, closed_category, set(), True) is None
    assert staged["staged"] is True and "attribution" not in staged
    title = refusal("x", 422, ["Title has already been used"])
    assert refusal_policy.remedy(ctx, {"username": "x"}, title, set(), False) is None  # a reply has no title
    gone = refusal("x", 404, ["not found"])
    assert refusal_policy.remedy(ctx, {"post_files": [1]}, gone, set(), False) is None


# ---------------------------------------------------------------- stages before publish
def test_live_topic_and_closed_topic_decide_before_publish(pipe):
    ctx = pipe.ctx
    root = pipe.send(make_mail("[SVE] Un sujet que les animateurs ferment", message_id="<lt0@a.fr>"))
    ctx.forum.topic_status_set(root.topic_id, "archived", True)
    batch = {}
    msgdata = dict(message_id="lt1@b.fr", topic_id=root.topic_id, batch=batch, writes=[],
                   staged=True, username=None, from_email="jean@b.fr", from_name="Jean")
    live_topic.process(ctx, None, msgdata)
    assert msgdata["live_topic"]["id"] == root.topic_id and msgdata["topic_closed"] == "archived"
    assert batch[("topic", root.topic_id)] is msgdata["live_topic"]  # read once per batch
    closed_topic.process(ctx, None, msgdata)  # never written in: a new topic, its continuation
    assert msgdata["notice"].startswith("*Suite du sujet archivé sur le forum")
    assert "@animateurs" not in msgdata["notice"]
    assert (msgdata["topic_id"], msgdata["live_topic"], msgdata["topic_closed"]) == (None, None, None)
    assert msgdata["root_message_id"] == "lt1@b.fr" and msgdata["theme"] == "sve"  # nothing mail can name
    assert closed_topic.state(msgdata) is None  # so ``author`` has no reason to use the bridge
    ctx.forum._request("DELETE", f"/t/{root.topic_id}.json")
    msgdata["topic_id"] = root.topic_id
    live_topic.forget(msgdata)
    with pytest.raises(Quarantine):
        live_topic.process(ctx, None, msgdata)
    fresh = dict(message_id="lt2@b.fr", topic_id=None, batch={}, writes=[])
    live_topic.process(ctx, None, fresh)
    closed_topic.process(ctx, None, fresh)
    assert fresh["live_topic"] is None and fresh["notice"] is None


def test_a_topic_deleted_after_the_batch_read_it_is_read_again_then_quarantined(pipe):
    """publish's write meets a 404 (the batch's view is stale): the stages that follow the
    topic run again, and the deleted topic quarantines the reply instead of a new topic."""
    from forumsync.pipeline import runner

    root = pipe.send(make_mail("[SVE] Un sujet bientôt supprimé", message_id="<gone0@a.fr>"))
    batch = {("topic", root.topic_id): pipe.ctx.forum.topic_get(root.topic_id)}
    pipe.ctx.forum._request("DELETE", f"/t/{root.topic_id}.json")
    inbox_id = pipe.feed(make_mail("Re: [SVE] Un sujet bientôt supprimé", "Une réponse tardive.",
                                   message_id="<gone1@b.fr>", in_reply_to="<gone0@a.fr>"))
    assert runner.claim(pipe.ctx, "test", 1, only_id=inbox_id) == [inbox_id]
    assert runner.process_claimed(pipe.ctx, inbox_id, batch) == "quarantined"
    assert f"le sujet {root.topic_id} a été supprimé sur le forum" in pipe.row(inbox_id).reason
    assert ("topic", root.topic_id) not in batch


def test_the_forum_limits_are_read_once_per_gateway(pipe):
    from forumsync.pipeline import post_limits

    forum = pipe.ctx.forum
    # « Oui »: 3 distinct bytes, under title_min_entropy (10): TextSentinel finds it unclear too
    assert post_limits.foreseen(forum, "Oui.", staged=False, title="Oui") == {BODY_SHORT, TITLE_SHORT,
                                                                            TITLE_UNCLEAR}
    asked = forum.stats["requests"]
    assert post_limits.foreseen(forum, "Oui.", staged=True, title="Oui") == set()  # the plugin checks none
    assert post_limits.foreseen(forum, "x" * (post_limits.max_post_chars(forum) + 1)) == {BODY_LONG}
    assert post_limits.foreseen(forum, "Un message de plus de vingt caractères.", staged=False) == set()
    assert forum.stats["requests"] == asked  # kept on the gateway, not asked again


def test_a_cut_keeps_every_image_it_left_out_even_one_whose_address_begins_another():
    """Red team, 48th pass: the images a cut left out are linked after it, found by their
    address in the cut; « forumsync-file:1 » is the beginning of « forumsync-file:12 », so the
    image of file 1, cut away, was taken for one the cut kept: the plugin then refused the
    post (file 1 sent, never named) and it was written again with its files apart."""
    body = "![douze](cid:img12)\n\n" + "Une ligne de texte.\n" * 600 + "\n![un](cid:img1)"
    long = _msgdata(body=body, staged=True)
    attached = Attached(cids=[("img1", "forumsync-file:1"), ("img12", "forumsync-file:12")],
                        inline=[("un", "forumsync-file:1"), ("douze", "forumsync-file:12")],
                        own={"forumsync-file:1", "forumsync-file:12"}, budget=1000)
    composed = draft.compose(long, attached, cut_over=5000)
    cut = draft.fitted(composed, long, {BODY_LONG}, list_name="Club", when=BASE_DATE, max_chars=5000,
                       full_text_url="forumsync-file:0")
    assert "![douze](forumsync-file:12)" in cut.raw and "![un](forumsync-file:1)" in cut.raw
