"""The local forum is as strict as Discourse on what forumsync relies on (one test per row of
docs/discourse-conformance.md, section "Gateway and local forum")."""
from __future__ import annotations

import requests
from sqlalchemy import select

from forumsync.localforum.models import Category, Post, Topic


def _put(forum, path, **json):
    return requests.put(forum.url + path, json=json, headers=forum.headers(), timeout=10)


def _post(forum, path, **json):
    return requests.post(forum.url + path, json=json, headers=forum.headers(), timeout=10)


def _owners(forum, group):
    answer = requests.get(f"{forum.url}/groups/{group}/members.json", headers=forum.headers(),
                          timeout=10).json()
    return [o["username"] for o in answer["owners"]]


def test_add_owners_reads_top_level_usernames_and_ignores_nested(localforum):
    """GroupsController#add_owners → users_from_params: a nested group[usernames] is no
    parameter at all: success, nobody added."""
    group = localforum.create_group("animateurs-sve")
    localforum.create_user("lea", "lea@meyzieu.fr", "Léa")
    nested = _put(localforum, f"/groups/{group['id']}/owners.json", group={"usernames": "lea"})
    assert nested.status_code == 200 and nested.json()["usernames"] == []
    assert _owners(localforum, "animateurs-sve") == []
    top = _put(localforum, f"/groups/{group['id']}/owners.json", usernames="lea")
    assert top.status_code == 200 and top.json()["usernames"] == ["lea"]
    assert _owners(localforum, "animateurs-sve") == ["lea"]


def test_category_description_param_is_dropped_and_lives_in_the_about_topic(localforum):
    """CategoriesController#category_params has no description; Category#create_category_
    definition makes the About topic, whose first post's first paragraph is the description."""
    created = _post(localforum, "/categories.json", name="Open data",
                    description="Ignoré par Discourse").json()["category"]
    assert created["description"] is None
    assert created["topic_url"]
    with localforum.session() as s:
        category = s.get(Category, created["id"])
        about = s.get(Topic, category.topic_id)
        assert about.title == "About the Open data category"
        assert about.category_id == category.id and about.pinned_at is not None
        first = s.scalar(select(Post).where(Post.topic_id == about.id, Post.post_number == 1))
        assert first.raw.startswith("(Replace this first paragraph")
        post_id = first.id
    _put(localforum, f"/categories/{created['id']}.json", name="Open data",
         description="Toujours ignoré")
    shown = requests.get(f"{localforum.url}/c/{created['id']}/show.json",
                         headers=localforum.headers(), timeout=10).json()["category"]
    assert shown["description"] is None
    answer = _put(localforum, f"/posts/{post_id}.json",
                  post={"raw": "Les **données ouvertes** des collectivités.\n\nSuite."})
    assert answer.status_code == 200
    shown = requests.get(f"{localforum.url}/c/{created['id']}/show.json",
                         headers=localforum.headers(), timeout=10).json()["category"]
    assert shown["description"] == "Les <strong>données ouvertes</strong> des collectivités."
    assert shown["description_text"] == "Les données ouvertes des collectivités."


def test_categories_are_paginated_when_lazy_loaded(localforum):
    """CategoryList#find_categories: 20 per page with ``page``, at most 5 subcategories of each
    listed parent, the rest through ``parent_category_id``."""
    localforum.set_site_setting("lazy_load_categories", True)
    parent = localforum.create_category("Parent")
    for n in range(25):
        localforum.create_category(f"Catégorie {n:02d}")
    for n in range(7):
        localforum.create_category(f"Enfant {n}", parent=parent["id"])

    def page(**params):
        answer = requests.get(f"{localforum.url}/categories.json", params=params,
                              headers=localforum.headers(), timeout=10)
        return answer.json()["category_list"]["categories"]

    first = page(page=1)
    top_level = [c for c in first if not c.get("parent_category_id")]
    assert len(top_level) == 20
    children = [c for c in first if c.get("parent_category_id") == parent["id"]]
    assert len(children) == 5 and all("subcategory_list" not in c for c in first)
    second = [c for c in page(page=2) if not c.get("parent_category_id")]
    assert len(second) == 1 + 25 + 1 - 20  # Uncategorized, Parent and the 25 others
    assert page(page=3) == []
    assert len(page(parent_category_id=parent["id"], page=1)) == 7


def test_without_lazy_loading_everything_is_on_the_first_page(localforum):
    localforum.create_category("Seule")
    assert requests.get(f"{localforum.url}/categories.json", params={"page": 2},
                        headers=localforum.headers(), timeout=10
                        ).json()["category_list"]["categories"] == []


def test_one_site_wide_admin_limiter_at_discourse_default(localforum):
    """DefaultCurrentUserProvider#admin_api_key_limiter: one "admin_api_min" RateLimiter for
    every API-key request, whichever key or Api-Username, at max_admin_api_reqs_per_minute
    (60 by default), answering 429 with Retry-After and extras.wait_seconds."""
    localforum.create_user("anne", "anne@example.org")
    localforum.limit_chosen = True  # refusals expected here: no fixture warning
    assert localforum.forum.limiter.per_minute == 60
    statuses = []
    for n in range(60):
        username = "anne" if n % 2 else localforum.username
        statuses.append(requests.get(f"{localforum.url}/site.json", timeout=10,
                                     headers=localforum.headers(username)).status_code)
    assert statuses == [200] * 60
    refused = requests.get(f"{localforum.url}/site.json", headers=localforum.headers("anne"),
                           timeout=10)
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 60 and refused.json()["extras"]["wait_seconds"] == wait
    # a request without a valid key is refused as such, not counted
    assert requests.get(f"{localforum.url}/site.json", headers={"Api-Key": "faux"},
                        timeout=10).status_code == 403


def test_admins_post_in_archived_topics_and_status_changes_add_small_actions(localforum):
    """TopicGuardian#can_create_post_on_topic?: admins anywhere; others not in closed or
    archived topics. TopicStatusUpdater: each status change adds a small-action post."""
    localforum.create_user("anne", "anne@example.org")
    category = localforum.create_category("Club")
    created = _post(localforum, "/posts.json", title="Un sujet qui sera archivé",
                    raw="Premier message de ce sujet, assez long.", category=category["id"])
    topic_id = created.json()["topic_id"]
    assert _put(localforum, f"/t/{topic_id}/status.json", status="archived",
                enabled="true").status_code == 200
    assert _put(localforum, f"/t/{topic_id}/status.json", status="archived",
                enabled="true").status_code == 200  # no change: no second small action
    reply = _post(localforum, "/posts.json", topic_id=topic_id,
                  raw="Réponse de l'administrateur dans un sujet archivé.")
    assert reply.status_code == 200
    member = requests.post(f"{localforum.url}/posts.json", headers=localforum.headers("anne"),
                           json={"topic_id": topic_id, "raw": "Réponse d'un membre refusée ici."},
                           timeout=10)
    assert member.status_code == 403
    _put(localforum, f"/t/{topic_id}/status.json", status="closed", enabled="true")
    view = requests.get(f"{localforum.url}/t/{topic_id}.json", headers=localforum.headers(),
                        timeout=10).json()
    posts = view["post_stream"]["posts"]
    assert [(p["post_type"], p.get("action_code")) for p in posts] == [
        (1, None), (3, "archived.enabled"), (1, None), (3, "closed.enabled")]
    assert view["archived"] is True and view["closed"] is True


def test_category_requiring_approval_enqueues_non_staff_posts(localforum):
    """NewPostManager: staff exempt; otherwise require_topic_approval/require_reply_approval
    hold the post: 200 {"action": "enqueued", "pending_post", "pending_count"}, no post."""
    localforum.create_user("anne", "anne@example.org")
    category = localforum.create_category("Modérée", custom_fields={
        "require_topic_approval": "true", "require_reply_approval": "true"})
    anne = localforum.headers("anne")
    held = requests.post(f"{localforum.url}/posts.json", headers=anne, timeout=10, json={
        "title": "Un sujet proposé par Anne", "raw": "Texte du sujet proposé par Anne.",
        "category": category["id"]})
    assert held.status_code == 200
    body = held.json()
    assert body["action"] == "enqueued" and body["pending_count"] == 1
    assert body["pending_post"]["id"] and "id" not in body.get("post", {})
    with localforum.session() as s:
        assert s.scalar(select(Topic.id).where(Topic.title == "Un sujet proposé par Anne")) is None
    staff = _post(localforum, "/posts.json", title="Un sujet de l'administrateur",
                  raw="Les administrateurs ne passent pas par la file.", category=category["id"])
    assert staff.status_code == 200 and staff.json()["id"]


def test_per_user_post_limits_spare_staff(localforum):
    """RateLimiter::OnCreateRecord: one post per rate_limit_create_post (5 s) per user, one
    topic per rate_limit_create_topic (15 s); staff are unlimited (rate_unlimited?)."""
    localforum.create_user("anne", "anne@example.org")
    category = localforum.create_category("Libre")
    anne = localforum.headers("anne")
    first = requests.post(f"{localforum.url}/posts.json", headers=anne, timeout=10, json={
        "title": "Premier sujet d'Anne ici", "raw": "Un texte assez long pour être accepté.",
        "category": category["id"]})
    assert first.status_code == 200
    again = requests.post(f"{localforum.url}/posts.json", headers=anne, timeout=10, json={
        "topic_id": first.json()["topic_id"], "raw": "Une réponse trop rapide d'Anne."})
    assert again.status_code == 429
    assert 1 <= again.json()["extras"]["wait_seconds"] <= 5
    assert again.headers["Retry-After"] == str(again.json()["extras"]["wait_seconds"])
    for n in range(3):
        assert _post(localforum, "/posts.json", topic_id=first.json()["topic_id"],
                     raw=f"Réponse numéro {n} de l'administrateur.").status_code == 200


def _notifications(forum, username):
    answer = requests.get(f"{forum.url}/notifications.json", params={"username": username},
                          headers=forum.headers(), timeout=10)
    assert answer.status_code == 200
    return [(n["notification_type"], n["post_number"]) for n in answer.json()["notifications"]]


def test_staged_poster_watches_and_is_notified_unless_mirror_or_auto_track_off(localforum):
    """PostCreator#track_topic / TopicCreator#watch_topic make a staged poster watch the topic;
    PostAlerter then notifies them (a mail on Discourse) of every reply, except in a
    mailing-list mirror category, or when the post was created with auto_track: false."""
    from forumsync.localforum import posts as lf_posts, users as lf_users
    from forumsync.localforum.models import TopicUser, User

    plain = localforum.create_category("Ordinaire")
    mirror = localforum.create_category("Miroir", mailinglist_mirror=True)
    topics = {}
    with localforum.session() as s:
        marie = lf_users.staged_user_for_email(s, "marie@meyzieu.fr", "Marie")
        for name, category in (("plain", plain), ("mirror", mirror)):
            post = lf_posts.create_post(s, marie, "Question venue de la liste de diffusion.",
                                        title=f"Question de Marie {name}",
                                        category_id=category["id"], check_permissions=False)
            topics[name] = post.topic_id
        quiet = lf_posts.create_post(s, marie, "Sans suivi automatique du sujet.",
                                     title="Question sans suivi", category_id=plain["id"],
                                     check_permissions=False, auto_track=False)
        topics["quiet"] = quiet.topic_id
        levels = {name: s.scalar(select(TopicUser.notification_level).where(
            TopicUser.user_id == marie.id, TopicUser.topic_id == tid))
            for name, tid in topics.items()}
        username = s.get(User, marie.id).username
    assert levels == {"plain": 3, "mirror": 3, "quiet": None}
    for name in ("plain", "mirror", "quiet"):
        assert _post(localforum, "/posts.json", topic_id=topics[name],
                     raw="Réponse écrite sur le forum par l'équipe.").status_code == 200
    with localforum.session() as s:
        rows = s.execute(select(Post.topic_id, Post.post_number)).all()
    notes = _notifications(localforum, username)
    assert notes == [(9, 2)]  # "posted" in the plain topic only
    assert (topics["plain"], 2) in rows


def test_a_subcategory_is_never_more_visible_than_its_parent(localforum):
    """Category#permissions_compatibility_validator (red team, 42nd pass: a public child of a
    staff-only parent showed the parent's name in a member's hashtag): with permissions given,
    a group the subcategory grants must be granted by its parent, unless everyone sees it;
    the same when the parent's permissions change."""
    localforum.create_group("direction")
    parent = _post(localforum, "/categories.json", name="Direction", color="0088CC", text_color="FFFFFF",
                   permissions={"direction": 1})
    assert parent.status_code == 200, parent.text
    parent_id = parent.json()["category"]["id"]
    refused = _post(localforum, "/categories.json", name="Public", color="0088CC", text_color="FFFFFF",
                    parent_category_id=parent_id, permissions={"everyone": 1})
    assert refused.status_code == 422 and "everyone" in refused.json()["errors"][0]
    child = _post(localforum, "/categories.json", name="Bureau", color="0088CC", text_color="FFFFFF",
                  parent_category_id=parent_id, permissions={"direction": 1})
    assert child.status_code == 200, child.text
    child_id = child.json()["category"]["id"]
    assert _put(localforum, f"/categories/{child_id}.json", permissions={"everyone": 1}).status_code == 422
    localforum.create_group("elus")
    widened = _put(localforum, f"/categories/{parent_id}.json", permissions={"elus": 1})
    assert widened.status_code == 422 and "direction" in widened.json()["errors"][0]
    assert _put(localforum, f"/categories/{parent_id}.json", permissions={"everyone": 1}).status_code == 200
    assert _put(localforum, f"/categories/{child_id}.json", permissions={"everyone": 1}).status_code == 200


def test_the_same_post_twice_within_unique_posts_mins_is_refused_but_staff(localforum):
    """PostValidator#unique_post_validator: a non-staff user's raw identical to one of their
    posts of the last ``unique_posts_mins`` (5) minutes (Post#matches_recent_post?: the SHA1
    of the stored raw, any topic) is refused, « Body is too similar to what you recently
    posted »; staff are exempt, another user is not concerned; the key lapses."""
    from forumsync.localforum.models import UniquePostKey

    # one post per 5 s would refuse the second post before the validator is reached
    localforum.set_site_setting("rate_limit_create_post", 0)
    localforum.set_site_setting("rate_limit_create_topic", 0)
    localforum.create_user("anne", "anne@example.org")
    localforum.create_user("bruno", "bruno@example.org")
    category = localforum.create_category("Libre")
    raw = "Un texte assez long pour être accepté."

    def post(who, **json):
        return requests.post(f"{localforum.url}/posts.json", headers=localforum.headers(who),
                             timeout=10, json=json)

    first = post("anne", title="Premier sujet d'Anne ici", raw=raw, category=category["id"])
    assert first.status_code == 200
    topic_id = first.json()["topic_id"]
    again = post("anne", topic_id=topic_id, raw=raw + "\n")  # stored without trailing space
    assert again.status_code == 422
    assert again.json()["errors"] == ["Body is too similar to what you recently posted"]
    elsewhere = post("anne", title="Un autre sujet d'Anne", raw=raw, category=category["id"])
    assert elsewhere.status_code == 422
    assert post("anne", topic_id=topic_id, raw=raw.replace("Un", "Ce")).status_code == 200
    assert post("bruno", topic_id=topic_id, raw=raw).status_code == 200
    for _ in range(2):
        assert _post(localforum, "/posts.json", topic_id=topic_id, raw=raw).status_code == 200
    with localforum.session() as s:
        for row in s.scalars(select(UniquePostKey)):
            row.expires_at = row.expires_at.replace(year=2000)
    assert post("anne", topic_id=topic_id, raw=raw).status_code == 200
    localforum.set_site_setting("unique_posts_mins", 0)
    assert post("anne", topic_id=topic_id, raw=raw).status_code == 200


def test_an_edit_to_the_raw_of_a_recent_post_is_refused(localforum):
    """PostRevisor saves with validation: editing a post to the raw of another recent post of
    its author is refused for a non-staff editor; its own raw again is no change."""
    localforum.set_site_setting("rate_limit_create_post", 0)  # two posts in a row below
    localforum.create_user("anne", "anne@example.org")
    category = localforum.create_category("Libre")
    anne = localforum.headers("anne")
    first = requests.post(f"{localforum.url}/posts.json", headers=anne, timeout=10, json={
        "title": "Premier sujet d'Anne ici", "raw": "Le premier texte, assez long.",
        "category": category["id"]}).json()
    second = requests.post(f"{localforum.url}/posts.json", headers=anne, timeout=10, json={
        "topic_id": first["topic_id"], "raw": "Le second texte, assez long aussi."}).json()
    edit = requests.put(f"{localforum.url}/posts/{second['id']}.json", headers=anne, timeout=10,
                        json={"post": {"raw": "Le premier texte, assez long."}})
    assert edit.status_code == 422
    assert edit.json()["errors"] == ["Body is too similar to what you recently posted"]
    same = requests.put(f"{localforum.url}/posts/{second['id']}.json", headers=anne, timeout=10,
                        json={"post": {"raw": "Le second texte, assez long aussi."}})
    assert same.status_code == 200


def test_no_more_than_max_consecutive_replies_unless_the_last_can_no_longer_be_edited(localforum):
    """PostValidator#force_edit_last_validator: a user who wrote the topic's last
    ``max_consecutive_replies`` (3) posts may not add one while they may still edit the last
    (« No more than 3 consecutive replies are allowed… »); the topic's first poster and staff
    are exempt; someone else's reply, or the last post past its edit time limit
    (``post_edit_time_limit``, 24 h below trust level 2), lets the next one through."""
    # four replies in a row: the per-user delay (5 s) would refuse them before the validator
    localforum.set_site_setting("rate_limit_create_post", 0)
    localforum.set_site_setting("rate_limit_create_topic", 0)
    for name in ("anne", "bruno"):
        localforum.create_user(name, f"{name}@example.org")
    category = localforum.create_category("Libre")

    def post(who, n, **json):
        return requests.post(f"{localforum.url}/posts.json", headers=localforum.headers(who),
                             timeout=10, json={"raw": f"Réponse numéro {n} assez longue.", **json})

    topic = post("bruno", 0, title="Le sujet ouvert par Bruno", category=category["id"]).json()
    tid = topic["topic_id"]
    for n in range(1, 4):
        assert post("anne", n, topic_id=tid).status_code == 200
    fourth = post("anne", 4, topic_id=tid)
    assert fourth.status_code == 422
    assert fourth.json()["errors"] == [
        "No more than 3 consecutive replies are allowed. Please edit your previous reply, or "
        "wait for someone to reply to you."]
    assert _post(localforum, "/posts.json", topic_id=tid, raw="L'administrateur répond ici.").status_code == 200
    assert post("anne", 5, topic_id=tid).status_code == 200  # someone else replied
    for n in range(6, 12):  # Bruno opened the topic: no limit for him
        assert post("bruno", n, topic_id=tid).status_code == 200
    for n in range(12, 15):
        assert post("anne", n, topic_id=tid).status_code == 200
    assert post("anne", 15, topic_id=tid).status_code == 422
    with localforum.session() as s:  # her last post can no longer be edited: not refused
        last = s.scalars(select(Post).where(Post.topic_id == tid)
                         .order_by(Post.post_number.desc())).first()
        last.created_at = last.created_at.replace(year=2000)
    assert post("anne", 16, topic_id=tid).status_code == 200


def test_titles_are_cleaned_then_judged_by_text_sentinel(localforum):
    """Topic's before_validation writes TextCleaner.clean_title (title_prettify: one ! or ?,
    a title all in capitals lowercased, the first word's capital, no final periods; spaces
    always) before QualityTitleValidator's TextSentinel judges it: entropy (title_min_entropy
    10 distinct bytes), a letter or digit, no word over title_max_word_length (30), a lowercase
    letter unless allow_uppercase_posts. The same on a retitle; not through the plugin's door
    (saved with validate: false)."""
    category = localforum.create_category("Libre")

    def create(title, raw="Un texte assez long pour être accepté, numéro {}."):
        create.n += 1
        return _post(localforum, "/posts.json", title=title, raw=raw.format(create.n),
                     category=category["id"])
    create.n = 0

    shouted = create("URGENT : PANNE DU PORTAIL !!!")
    assert shouted.status_code == 200
    topic_id = shouted.json()["topic_id"]
    with localforum.session() as s:
        assert s.get(Topic, topic_id).title == "Urgent : panne du portail !"
    assert create("réunion du bureau jeudi...").status_code == 200
    with localforum.session() as s:
        assert s.scalar(select(Topic.title).order_by(Topic.id.desc())) == "Réunion du bureau jeudi"
    assert create("Urgent : panne du portail !").json()["errors"] == ["Title has already been used"]
    assert create("aaaaaaaaaaaaaaaaaaaa").json()["errors"] == [
        "Title seems unclear, most of the words contain the same letters over and over?"]
    assert create("Référence " + "A1" * 16 + " du dossier").json()["errors"] == [
        "Title seems unclear, one or more words is very long?"]
    assert create("Référence " + "A1" * 15 + " du dossier").status_code == 200
    # a soft hyphen (U+00AD) is no letter: it ends TextSentinel's word
    assert create("Référence " + "A1" * 8 + "\u00ad" + "A1" * 8 + " du dossier").status_code == 200
    assert create("% 12 34 56 78 90 = ?").status_code == 200  # digits are enough
    body = create("Une question sur le portail", raw="MERCI DE RÉPONDRE VITE À TOUS !")
    assert body.json()["errors"] == ["Body seems unclear, is it a complete sentence?"]
    localforum.set_site_setting("title_prettify", False)
    assert create("PANNE GÉNÉRALE DU PORTAIL").json()["errors"] == [
        "Title seems unclear, did you mean to enter it in ALL CAPS?"]
    retitle = _put(localforum, f"/t/-/{topic_id}.json", title="PANNE GÉNÉRALE DU PORTAIL")
    assert retitle.status_code == 422
    localforum.set_site_setting("allow_uppercase_posts", True)
    assert create("PANNE GÉNÉRALE DU PORTAIL").status_code == 200


def test_a_word_s_length_counts_what_ruby_s_alnum_counts(localforum):
    """TextSentinel#seems_unpretentious matches \\p{Alnum}{31,}: Onigmo's Alnum is
    Alphabetic or a decimal digit, so letter numbers (« Ⅻ », Nl) and circled letters (« Ⓐ »)
    lengthen a word; str.isalpha takes neither, and the local forum took such a title that
    Discourse refuses."""
    category = localforum.create_category("Libre")
    for n, word in enumerate(("A" * 25 + "Ⅻ" * 6, "A" * 25 + "Ⓐ" * 6)):
        answer = _post(localforum, "/posts.json", title=f"Référence {word} du dossier",
                       raw=f"Un texte assez long pour être accepté, numéro {n}.", category=category["id"])
        assert answer.json()["errors"] == ["Title seems unclear, one or more words is very long?"]


def test_a_title_holds_no_more_than_max_emojis_in_title(localforum):
    """MaxEmojisValidator (max_emojis_in_title 1; 0: none), on create and retitle: Unicode
    emoji (a flag, a keycap, a skin tone with its emoji: one each), « :name: » codes and
    emoticons such as « :) » count; off with enable_emoji. The local forum counts as
    title_form.emoji_units counts, never fewer than Discourse (a sequence joined by U+200D
    counts each pictograph, any « :name: » counts)."""
    category = localforum.create_category("Libre")

    def create(title):
        create.n += 1
        return _post(localforum, "/posts.json", title=title, category=category["id"],
                     raw=f"Un texte assez long pour être accepté, numéro {create.n}.")
    create.n = 0

    assert create("Bonne année à toute la liste 🎉").status_code == 200
    assert create("Bonne année à toute la liste 🎉🎉").json()["errors"] == [
        "Title can't have more than 1 emoji"]
    assert create("Rendez-vous à 10:30 : ordre du jour 🇫🇷").status_code == 200
    assert create("Pouce 👍🏽 pour la sortie du club").status_code == 200
    for title in ("Merci pour la sortie 🎉 :)", "Soirée :pizza: et :beer: au club",
                  "Pique-nique ☀️ et 1️⃣ seul repas"):
        assert create(title).json()["errors"] == ["Title can't have more than 1 emoji"], title
    topic_id = create("Une question sur le portail").json()["topic_id"]
    retitle = _put(localforum, f"/t/-/{topic_id}.json", title="Une question sur le portail 🎉🎉")
    assert retitle.status_code == 422
    localforum.set_site_setting("max_emojis_in_title", 0)
    assert create("Bonne année au club de Meyzieu 🎉").json()["errors"] == ["Title can't have emoji"]
    localforum.set_site_setting("enable_emoji", False)
    assert create("Bonne année au club de Meyzieu 🎉").status_code == 200


def test_the_plugin_door_keeps_the_title_as_sent(localforum):
    """TopicCreator#save_topic with skip_validations saves with validate: false: no
    before_validation (no clean_title), no QualityTitleValidator."""
    from forumsync.localforum import posts as lf_posts, users as lf_users

    category = localforum.create_category("Miroir", mailinglist_mirror=True)
    with localforum.session() as s:
        marie = lf_users.staged_user_for_email(s, "marie@meyzieu.fr", "Marie")
        post = lf_posts.create_post(s, marie, "OK", title="URGENT !!! PANNE...",
                                    category_id=category["id"], check_permissions=False,
                                    skip_validations=True)
        assert s.get(Topic, post.topic_id).title == "URGENT !!! PANNE..."


def test_new_users_are_limited_in_links_media_attachments_and_replies(localforum):
    """PostValidator for a user below trust level 1 (staff exempt): newuser_max_links (2),
    newuser_max_embedded_media (1), newuser_max_attachments (0; an ``a.attachment`` is a link
    too), newuser_max_replies_per_topic (3, outside their own topic, since someone last
    replied to them); a member at trust level 1 is not concerned."""
    # several posts of one user in a row: the per-user delays are checked elsewhere
    localforum.set_site_setting("rate_limit_create_post", 0)
    localforum.set_site_setting("rate_limit_new_user_create_post", 0)
    localforum.set_site_setting("rate_limit_create_topic", 0)
    localforum.set_site_setting("max_consecutive_replies", 0)  # not this test's limit
    with localforum.session() as s:
        from forumsync.localforum import users as lf_users
        lf_users.create_user(s, "nouvelle", "nouvelle@example.org", trust_level=0)
    localforum.create_user("ancienne", "ancienne@example.org")
    category = localforum.create_category("Libre")
    topic = _post(localforum, "/posts.json", title="Un sujet ouvert par l'administrateur",
                  raw="Le premier message du sujet, assez long.", category=category["id"]).json()

    def reply(who, raw):
        return requests.post(f"{localforum.url}/posts.json", headers=localforum.headers(who),
                             timeout=10, json={"topic_id": topic["topic_id"], "raw": raw})

    links = "Trois liens : https://a.example.org https://b.example.org https://c.example.org"
    assert reply("nouvelle", links).json()["errors"] == [
        "Sorry, new users can only put 2 links in a post."]
    images = "Deux images : ![a](https://a.example.org/a.png) ![b](https://a.example.org/b.png)"
    assert reply("nouvelle", images).json()["errors"] == [
        "Sorry, new users can only put one embedded media item in a post."]
    assert reply("ancienne", links).status_code == 200
    assert reply("ancienne", images).status_code == 200
    for n in range(3):
        assert reply("nouvelle", f"Une réponse de la nouvelle venue, la {n}.").status_code == 200
    assert reply("nouvelle", "Une quatrième réponse de la nouvelle venue.").json()["errors"] == [
        "We're sorry, but new users are temporarily limited to 3 replies in the same topic."]
    assert _post(localforum, "/posts.json", topic_id=topic["topic_id"], raw="Bienvenue à toi, nouvelle !",
                 reply_to_post_number=5).status_code == 200
    assert reply("nouvelle", "Merci pour cet accueil chaleureux !").status_code == 200
