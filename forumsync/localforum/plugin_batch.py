"""``POST /forumsync/posts/batch.json``: the plugin's batch endpoint, as the local forum does it.

Same contract as the Ruby plugin (``plugin/spec/fixtures/contract/posts_batch.json``,
``plugin/app/controllers/forumsync/batch_posts_controller.rb``): up to ``max_posts`` posts in
one request, created in order through the single endpoint's path
(``plugin_api.create_staged_post``), each succeeding or failing on its own:

- an item is a ``POST /forumsync/posts.json`` body, plus ``reply_to_message_id`` (a reply to
  the post of an item earlier in this batch), ``topic_of_message_id`` (a reply in that item's
  topic, to no post: a subject-matched reply) or ``reply_to_post_id`` (with ``topic_id``: the
  post replied to, which must still be in that topic, else ``parent_moved``);
- replies in a closed or archived topic are refused (``topic_closed``), and with
  ``staged_only`` the address of an account that is not staged is refused (``active_user``):
  forumsync applies its own rules to those (bridge account, the member's own account);
- each item runs in a savepoint: a refused item leaves nothing behind;
- with ``stop_at_refusal`` the items after a refused one are not attempted
  (``not_attempted``): forumsync posts the refused one its own way, then sends the rest, so
  posts are created in the order of the messages whatever happens.

The maximum is the site setting ``forumsync_batch_max_posts`` (plugin/config/settings.yml).
"""
from __future__ import annotations

import json

from flask import request

from . import serializers, sitesettings
from .errors import ApiError, forbidden
from .http import api_route, current_user, forum, json_response, params
from .models import Post, Topic
from .plugin_api import bp, create_staged_post, created_body, post_by_message_id
from .plugin_params import PostFiles, PostParams, normalize_message_id
from .users import user_by_email

SETTING = "forumsync_batch_max_posts"
DEFAULT_MAX_POSTS = 100  # plugin/config/settings.yml

# plugin/config/locales/server.fr.yml (forumsync.batch), same sentences.
BATCH_MESSAGES = {
    "posts": "« posts » doit être une liste de 1 à {max} messages.",
    "too_many": "Trop de messages dans le lot : {count} (au plus {max}).",
    "not_an_object": "Le message n° {index} du lot n'est pas un objet JSON.",
    "unknown_reference": ("« reply_to_message_id » ne désigne aucun message de ce lot publié "
                          "avant celui-ci : « {value} »."),
    "reference_with_target": ("« reply_to_message_id » ne se combine ni avec « topic_id », "
                              "« reply_to_post_number », « title » ou « category_id »."),
    "unknown_topic_reference": ("« topic_of_message_id » ne désigne aucun message de ce lot "
                                "publié avant celui-ci : « {value} »."),
    "topic_reference_with_target": ("« topic_of_message_id » ne se combine ni avec "
                                    "« reply_to_message_id », « topic_id », "
                                    "« reply_to_post_number », « title » ou « category_id »."),
    "post_id_without_topic": "« reply_to_post_id » demande « topic_id ».",
    "topic_not_found": "Sujet introuvable : {id}.",
    "category_not_found": "Catégorie introuvable : {id}.",
    "topic_closed": "Le sujet {id} est fermé ou archivé : réponse non publiée dans ce lot.",
    "parent_moved": "Le message {post_id} n'est plus dans le sujet {topic_id}.",
    "active_user": ("L'adresse « {email} » est celle d'un compte du forum, pas d'un utilisateur "
                    "intermédiaire : forumsync décide comment publier ce message."),
    "not_attempted": "Non traité : un message précédent du lot a été refusé.",
}
# The plugin's site setting (plugin/config/settings.yml), readable and settable like Discourse's.
sitesettings.DEFAULTS.setdefault(
    SETTING, (DEFAULT_MAX_POSTS, int, "Nombre maximal de messages par lot (discourse-forumsync)"))


def max_posts(session) -> int:
    return int(sitesettings.get(session, SETTING))


def _items() -> list | None:
    """The ``posts`` list: a JSON list (JSON body), or JSON text (multipart: a field or, as the
    gateway sends it, a part of its own)."""
    value = params().get("posts")
    if value is None and "posts" in request.files:  # multipart: the list as a JSON part
        value = request.files["posts"].read().decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict):  # form-encoded posts[0][email]=…
        try:
            value = [value[k] for k in sorted(value, key=int)]
        except ValueError:
            return None
    return value if isinstance(value, list) else None


def _files(index: int) -> list:
    return request.files.getlist(f"files[{index}][]") or request.files.getlist(f"files[{index}]")


class ItemRefused(Exception):
    def __init__(self, status: int, errors: list[str], error_type: str):
        super().__init__("; ".join(errors))
        self.status, self.errors, self.error_type = status, errors, error_type


def _target_params(item: dict, done: dict) -> dict:
    """The item as PostParams reads it: an in-batch reference becomes topic_id and
    reply_to_post_number of the post an earlier item of this batch answered."""
    item = {str(k): v for k, v in item.items()}
    item.pop("reply_to_post_id", None)
    topic_reference = item.pop("topic_of_message_id", None)
    reference = item.pop("reply_to_message_id", None)
    targets = ("topic_id", "reply_to_post_number", "title", "category_id", "category")
    if topic_reference not in (None, ""):  # in that item's topic, replying to no post
        if reference not in (None, "") or any(item.get(k) not in (None, "") for k in targets):
            raise ItemRefused(422, [BATCH_MESSAGES["topic_reference_with_target"]], "invalid_parameters")
        parent = done.get(normalize_message_id(topic_reference))
        if parent is None:
            raise ItemRefused(422, [BATCH_MESSAGES["unknown_topic_reference"].format(
                value=str(topic_reference).strip())], "invalid_parameters")
        return {**item, "topic_id": parent[0]}
    if reference in (None, ""):
        return item
    if any(item.get(k) not in (None, "") for k in targets):
        raise ItemRefused(422, [BATCH_MESSAGES["reference_with_target"]], "invalid_parameters")
    parent = done.get(normalize_message_id(reference))
    if parent is None:
        raise ItemRefused(422, [BATCH_MESSAGES["unknown_reference"].format(
            value=str(reference).strip())], "invalid_parameters")
    return {**item, "topic_id": parent[0], "reply_to_post_number": parent[1]}


def _check_reply(session, post_params: PostParams, item: dict) -> None:
    """What the batch refuses beyond the single endpoint: closed topics, moved parents."""
    topic = session.get(Topic, post_params.topic_id)
    if topic is None or topic.deleted_at is not None:
        raise ItemRefused(404, [BATCH_MESSAGES["topic_not_found"].format(id=post_params.topic_id)],
                          "not_found")
    if topic.closed or topic.archived:
        raise ItemRefused(409, [BATCH_MESSAGES["topic_closed"].format(id=topic.id)], "topic_closed")
    parent_id = item.get("reply_to_post_id")
    if parent_id not in (None, ""):
        parent = session.get(Post, int(parent_id)) if str(parent_id).strip().isdigit() else None
        if parent is None or parent.deleted_at is not None or parent.topic_id != topic.id:
            raise ItemRefused(409, [BATCH_MESSAGES["parent_moved"].format(
                post_id=parent_id, topic_id=topic.id)], "parent_moved")


def _create(session, index: int, item, done: dict, staged_only: bool) -> tuple[int, dict]:
    if not isinstance(item, dict):
        raise ItemRefused(422, [BATCH_MESSAGES["not_an_object"].format(index=index)],
                          "invalid_parameters")
    message_id = normalize_message_id(item.get("message_id"))
    known = post_by_message_id(session, message_id)
    if known is not None:  # idempotent: a known Message-ID answers its post, whatever the rest
        # (no later item may reply to it: it may be anywhere now, and items skip the guardian;
        # such a reply goes alone, through forumsync's own check of the topic, red-team 16)
        return 200, _result(known, message_id, False, done, referable=False)
    if item.get("reply_to_post_id") not in (None, "") and item.get("topic_id") in (None, ""):
        raise ItemRefused(422, [BATCH_MESSAGES["post_id_without_topic"]], "invalid_parameters")
    post_params = PostParams(_target_params(item, done))
    files = _files(index)
    post_files = PostFiles(post_params.raw, len(files))
    errors = post_params.errors + (post_files.errors if post_params.raw else [])
    if errors:
        raise ItemRefused(422, errors, "invalid_parameters")
    if post_params.reply:
        _check_reply(session, post_params, item)
    sender = None
    if staged_only:
        sender = user_by_email(session, post_params.email)
        if sender is not None and not sender.staged:  # active or not: forumsync decides
            raise ItemRefused(409, [BATCH_MESSAGES["active_user"].format(email=post_params.email)],
                              "active_user")
    # PostParams reads the Message-ID as normalize_message_id does: just looked up, unknown
    post, created = create_staged_post(session, post_params, files, post_files,
                                       unknown_message_id=post_params.message_id == message_id,
                                       sender=sender)
    return (201 if created else 200), _result(post, post_params.message_id, created, done)


def _result(post: Post, message_id: str, created: bool, done: dict, referable: bool = True) -> dict:
    """The single endpoint's body plus the topic's category and title (forumsync records them
    without reading the topic); later items may now reply to this post, if REFERABLE."""
    if referable:
        done[message_id] = (post.topic_id, post.post_number)
    else:
        done.pop(message_id, None)
    body = created_body(post, message_id, created)
    body.update(category_id=post.topic.category_id, topic_title=post.topic.title)
    return body


@api_route(bp, "/forumsync/posts/batch", methods=["POST"])
def posts_batch():
    with forum().store.session() as session:
        user = current_user(session)
        if not user.admin:
            raise forbidden()
        limit = max_posts(session)
        items = _items()
        if not items:
            raise ApiError(422, [BATCH_MESSAGES["posts"].format(max=limit)], "invalid_parameters")
        if len(items) > limit:
            raise ApiError(422, [BATCH_MESSAGES["too_many"].format(count=len(items), max=limit)],
                           "invalid_parameters")
        staged_only = str(params().get("staged_only", "")).lower() in ("true", "1")
        stop = str(params().get("stop_at_refusal", "")).lower() in ("true", "1")
        done: dict = {}  # normalised Message-ID → (topic id, post number), this batch's successes
        results = []
        for index, item in enumerate(items):
            if stop and results and results[-1]["status"] not in (200, 201):
                message_id = item.get("message_id") if isinstance(item, dict) else None
                results.append({"status": 409, "message_id": normalize_message_id(message_id),
                                "errors": [BATCH_MESSAGES["not_attempted"]],
                                "error_type": "not_attempted"})
                continue
            savepoint = session.begin_nested()
            try:
                status, body = _create(session, index, item, done, staged_only)
            except (ItemRefused, ApiError) as exc:
                savepoint.rollback()
                message_id = item.get("message_id") if isinstance(item, dict) else None
                results.append({"status": exc.status, "message_id": normalize_message_id(message_id),
                                "errors": list(exc.errors), "error_type": exc.error_type or
                                ("not_found" if exc.status == 404 else "invalid_parameters")})
                continue
            savepoint.commit()
            results.append({"status": status, **body})
        return json_response({"posts": results}, 200)


# ------------------------------------------------------------------ users by email
MAX_EMAILS = 200  # plugin/lib/forumsync/batch_request.rb BatchRequest::MAX_EMAILS
BATCH_MESSAGES["emails"] = "« emails » doit être une liste de 1 à {max} adresses."


@api_route(bp, "/forumsync/users/by-email", methods=["POST"])
def users_by_email():
    """The users of up to MAX_EMAILS addresses in one request, each as an item of
    ``GET /admin/users/list/all.json?email=`` shows it (null: nobody): a backlog's authors
    are known for one request instead of one per sender (capability ``users_by_email``)."""
    value = params().get("emails")
    emails = value if isinstance(value, list) else None
    with forum().store.session() as session:
        user = current_user(session)
        if not user.admin:
            raise forbidden()
        if not emails or len(emails) > MAX_EMAILS or not all(isinstance(e, str) for e in emails):
            raise ApiError(422, [BATCH_MESSAGES["emails"].format(max=MAX_EMAILS)], "invalid_parameters")
        found = {}
        for email in emails:
            key = email.strip().lower()
            if key and key not in found:
                match = user_by_email(session, key)
                found[key] = serializers.serialize_admin_user(match) if match is not None else None
        return json_response({"users": found})
