"""The dashboard blueprint (``/``, French, behind a login): health, queues, activity,
catalogue, subscribers, and the year's timeline. Actions are POST forms with a CSRF token."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from ..app import current_context
from ..models import InboxMessage, OutboxMail, WebhookEvent
from . import auth, charts, health, stats, throttle
from .dates import paris_time

log = logging.getLogger(__name__)

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/tableau-de-bord/static")


@bp.record_once
def _configure(state):
    if not state.app.config.get("SESSION_COOKIE_SAMESITE"):  # Flask's default is None
        state.app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    state.app.config["SESSION_COOKIE_HTTPONLY"] = True
    # Secure behind https (WEB_URL), so the cookie never travels in clear
    web_url = state.app.extensions["forumsync"].settings.WEB_URL
    state.app.config["SESSION_COOKIE_SECURE"] = web_url.lower().startswith("https://")
    state.app.jinja_env.globals.setdefault("csrf_token", auth.csrf_token)


@bp.before_request
def _csrf_on_post():
    if request.method == "POST" and request.endpoint != "dashboard.sso_callback":
        auth.check_csrf()


@bp.app_template_filter("fr_datetime")
def fr_datetime(value):
    return paris_time(value)


# ------------------------------------------------------------------------------------ login
@bp.route("/connexion", methods=["GET", "POST"])
def login():
    ctx = current_context()
    settings = ctx.settings
    error, status, headers = None, 200, {}
    if request.method == "POST":
        client = request.remote_addr or ""
        attempt, wait = throttle.begin_attempt(ctx.db, client)
        if attempt is None:  # over the limit: the password is not even looked at
            log.warning("connexions au tableau de bord bloquées pour %s (%s s)", client, wait)
            error, status = throttle.wait_message(wait), 429
            headers["Retry-After"] = str(wait)
        elif auth.check_password(settings, request.form.get("password", "")):
            throttle.succeeded(ctx.db, client)
            target = auth.safe_next(request.form.get("next"))
            auth.login_user("administrateur", "password")
            log.info("connexion au tableau de bord (mot de passe)")
            return redirect(target)
        else:
            log.warning("échec de connexion au tableau de bord depuis %s", client)
            error, status = "Mot de passe incorrect.", 401
    return render_template("dashboard/login.html", error=error, next=request.values.get("next", ""),
                           demo=auth.demo_mode(settings),
                           sso=bool(settings.DISCOURSE_CONNECT_SECRET),
                           forum_name=settings.FORUM_NAME), status, headers


@bp.post("/deconnexion")
def logout():
    auth.logout_user()
    return redirect(url_for("dashboard.login"))


@bp.get("/sso")
def sso_start():
    settings = current_context().settings
    if not settings.DISCOURSE_CONNECT_SECRET:
        abort(404)
    return redirect(auth.sso_start_url(settings, settings.WEB_URL + url_for("dashboard.sso_callback")))


@bp.get("/sso/retour")
def sso_callback():
    settings = current_context().settings
    try:
        fields = auth.sso_verify(settings, request.args.get("sso", ""), request.args.get("sig", ""))
    except auth.SSOError as exc:
        log.warning("connexion par le forum refusée : %s", exc)
        return render_template("dashboard/login.html", error=f"Connexion par le forum refusée : {exc}.",
                               next="", demo=auth.demo_mode(settings),
                               sso=bool(settings.DISCOURSE_CONNECT_SECRET),
                               forum_name=settings.FORUM_NAME), 403
    auth.login_user(fields["username"], "sso")
    log.info("connexion au tableau de bord par le forum : %s", fields["username"])
    return redirect(url_for("dashboard.index"))


# ------------------------------------------------------------------------------------ pages
@bp.get("/")
@auth.login_required
def index():
    from ..community import subscribers

    ctx = current_context()
    settings = ctx.settings
    checks = health.run_checks(ctx)
    with ctx.db.session() as session:
        inbox_counts = stats.counts_by_state(session, InboxMessage, stats.INBOX_LABELS)
        outbox_counts = stats.counts_by_state(session, OutboxMail, stats.OUTBOX_LABELS)
        inbox_failures = stats.inbox_failures(session)
        outbox_failures = stats.outbox_failures(session)
        event_counts = stats.counts_by_state(session, WebhookEvent, stats.EVENT_LABELS)
        event_failures = stats.event_failures(session)
        activity = stats.activity(session, settings)
        catalogue = stats.catalogue(session)
        directory = stats.directory(session)
        members = subscribers.summary(session)
        timeline = stats.timeline(session, settings)
        for row in inbox_failures + outbox_failures + event_failures + members["recent"]:
            session.expunge(row)
    chart = charts.stacked_bars(activity["months"], activity["series"],
                                title="Messages par thème et par mois")
    origin_chart = charts.stacked_bars(activity["months"], activity["origin_series"],
                                       title="Origine des messages", height=200)
    timeline_svg = charts.timeline(timeline["year"], timeline["items"])
    return render_template("dashboard/index.html", settings=settings, checks=checks,
                           inbox_labels=stats.INBOX_LABELS, event_labels=stats.EVENT_LABELS,
                           inbox_counts=inbox_counts, outbox_counts=outbox_counts,
                           inbox_failures=inbox_failures, outbox_failures=outbox_failures,
                           event_counts=event_counts, event_failures=event_failures,
                           activity=activity, chart=chart, origin_chart=origin_chart,
                           catalogue=catalogue, directory=directory, members=members,
                           timeline=timeline, timeline_svg=timeline_svg,
                           user=auth.current_user())


# ------------------------------------------------------------------------------------ actions
def _act(operation, done, refused, then=None):
    """Run OPERATION(session) -> changed (then THEN() if it changed), say in French how it
    went, back to the queues."""
    with current_context().db.session() as session:
        changed = bool(operation(session))
    if changed and then is not None:
        then()
    if callable(done):  # the operation may have said more (see inbox_drop, inbox_retry)
        done = done()
    if callable(refused):
        refused = refused()
    flash(done if changed else refused, "ok" if changed else "ko")
    return redirect(url_for("dashboard.index") + "#files")


@bp.post("/boite-de-reception/<int:message_id>/reessayer")
@auth.login_required
def inbox_retry(message_id):
    from ..inbound import operations
    from ..queues import wake

    why = {"text": f"Le message {message_id} ne peut pas être réessayé."}

    def retry(session):
        changed = operations.retry(session, message_id)
        if not changed and operations.another_copy_live(session.connection(), message_id):
            why["text"] = (f"Le message {message_id} n'est pas réessayé : une autre copie du même "
                           "Message-ID peut encore être publiée (ou l'est). Écartez-la d'abord si "
                           "c'est elle la fausse.")
        return changed

    return _act(retry, f"Message {message_id} remis en traitement.", lambda: why["text"], then=wake)


@bp.post("/boite-de-reception/<int:message_id>/ecarter")
@auth.login_required
def inbox_drop(message_id):
    from ..inbound import operations

    said = {"text": f"Message {message_id} écarté."}

    def drop(session):
        row = session.get(InboxMessage, message_id)
        attempted = row is not None and operations.may_be_on_the_forum(row)
        changed = operations.drop(session, message_id, "depuis le tableau de bord")
        if changed:  # copies left held (operations.drop): said here as the CLI says it
            notice = operations.held_after_drop(session, message_id, attempted, "« Réessayer »")
            said["text"] += f" {notice}" if notice else ""
        return changed

    return _act(drop, lambda: said["text"], f"Le message {message_id} ne peut pas être écarté.")


@bp.post("/envois/<int:mail_id>/reessayer")
@auth.login_required
def outbox_retry(mail_id):
    from ..outbound import outbox

    return _act(lambda session: outbox.retry(session, mail_id),
                f"Courriel {mail_id} remis en file d'envoi.",
                f"Le courriel {mail_id} ne peut pas être réessayé.")


@bp.post("/envois/<int:mail_id>/ecarter")
@auth.login_required
def outbox_drop(mail_id):
    from ..outbound import outbox

    return _act(lambda session: outbox.drop(session, mail_id, "écarté depuis le tableau de bord"),
                f"Courriel {mail_id} écarté.",
                f"Le courriel {mail_id} ne peut pas être écarté.")
