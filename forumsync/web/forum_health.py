"""`forumsync doctor`'s checks of the forum's own configuration, each with its fix in French.

Read-only: every probe is a GET. What cannot be read through the API (the admin API rate limit
is an environment setting of the Discourse container) is reported as unknown with what to do.
"""
from __future__ import annotations

import hmac
from urllib.parse import quote

from .health import CHECK_TIMEOUT, Check

WEBHOOK_PATH = "/webhooks/discourse"
# Events forumsync needs (forum/events.py) and those it uses when present (category cache).
REQUIRED_EVENTS = ("post_created", "post_edited", "post_destroyed", "topic_created",
                   "topic_edited", "topic_destroyed")
USEFUL_EVENTS = ("category_created", "category_updated", "category_destroyed")
PLUGIN_FEATURES = ("staged_posts", "message_id_lookup", "category_fields", "post_files")
API_KEY_HELP = ("Administration → API → Clés : créez une clé « Utilisateur unique » pour "
                "FORUM_API_USERNAME (un administrateur) avec la portée « Global » ou les portées "
                "détaillées de docs/deploy.md, puis mettez-la dans FORUM_API_KEY.")
# Discourse's site settings forumsync depends on: (name, wanted, why, fix).
SITE_SETTINGS = (
    ("enable_category_group_moderation", "true",
     "les groupes animateurs-… modèrent la catégorie de leur thème",
     "Administration → Réglages : cochez « enable category group moderation »."),
    ("enable_staged_users", "true",
     "les auteurs de la liste sans compte sont publiés en utilisateurs « staged »",
     "Administration → Réglages → Courriel : cochez « enable staged users »."),
)


def _gateway(settings):
    from ..forum.gateway import ForumGateway

    return ForumGateway(settings.FORUM_URL, settings.FORUM_API_KEY, settings.FORUM_API_USERNAME,
                        timeout=CHECK_TIMEOUT * 2, retries=0, max_wait=0)


def forum_access(settings, gateway=None) -> tuple[Check, object | None]:
    """Can we talk to the forum with this key and user? A refused key is said so, not
    « injoignable ». Returns the check and the gateway to reuse (None when unusable)."""
    from ..forum.gateway import ForumRejected, ForumUnavailable

    gw = gateway or _gateway(settings)
    label = "Forum : accès par l'API"
    try:
        user = gw._get(f"/u/{quote(settings.FORUM_API_USERNAME, safe='')}.json").get("user") or {}
    except ForumUnavailable as exc:
        return Check("forum_access", label, False, f"{settings.FORUM_URL} injoignable : {exc}",
                     "Vérifiez FORUM_URL, le DNS, le pare-feu et que Discourse tourne."), None
    except ForumRejected as exc:
        if exc.status in (401, 403):
            return Check("forum_access", label, False,
                         f"clé d'API refusée par {settings.FORUM_URL} (HTTP {exc.status}) : la clé "
                         f"FORUM_API_KEY est fausse, révoquée, ou ne vaut pas pour l'utilisateur "
                         f"« {settings.FORUM_API_USERNAME} »", API_KEY_HELP), None
        if exc.status == 404:
            return Check("forum_access", label, False,
                         f"l'utilisateur « {settings.FORUM_API_USERNAME} » n'existe pas sur le forum",
                         "Mettez dans FORUM_API_USERNAME le nom d'un administrateur du forum "
                         "(par exemple « system »)."), None
        return Check("forum_access", label, False, f"refus inattendu du forum : {exc}",
                     "Lisez le journal de Discourse (/logs) à l'heure du refus."), None
    if not user.get("admin"):
        return Check("forum_access", label, False,
                     f"clé acceptée, mais « {settings.FORUM_API_USERNAME} » n'est pas administrateur",
                     "Donnez le rôle administrateur à ce compte, ou choisissez un administrateur "
                     "dans FORUM_API_USERNAME."), gw
    return Check("forum_access", label, True,
                 f"clé acceptée, agit en tant que « {settings.FORUM_API_USERNAME} » "
                 f"(administrateur)"), gw


def _probe(gw, path, **params) -> tuple[bool | None, str]:
    """(True allowed | False refused | None unknown, French note) for one GET."""
    from ..forum.gateway import ForumError, ForumNotFound, ForumRejected

    try:
        gw._get(path, **params)
    except ForumNotFound:
        return True, "autorisé (objet d'essai absent)"
    except ForumRejected as exc:
        if exc.status in (401, 403):
            return False, "refusé"
        return None, f"réponse {exc.status}"
    except ForumError as exc:
        return None, f"sans réponse ({exc.__class__.__name__})"
    return True, "autorisé"


def key_permissions(settings, gw) -> Check:
    """What the key may read, probed with harmless GETs (write scopes cannot be probed safely)."""
    probes = [
        ("lire les catégories", "/categories.json", {}),
        ("lire les réglages du site", "/admin/site_settings.json", {"filter_names": "title"}),
        ("chercher un compte par adresse", "/admin/users/list/active.json",
         {"email": "doctor@forumsync.invalid"}),
        ("lire les groupes", "/groups.json", {}),
        ("lire les webhooks", "/admin/api/web_hooks.json", {}),
    ]
    refused, notes = [], []
    for what, path, params in probes:
        ok, note = _probe(gw, path, **params)
        notes.append(f"{what} : {note}")
        if ok is False:
            refused.append(what)
    detail = " ; ".join(notes) + (". Les droits d'écriture (sujets, messages, catégories, groupes, "
                                  "envois de fichiers) se vérifient avec « forumsync provision "
                                  "--dry-run » puis la démo d'un message.")
    if refused:
        return Check("api_key", "Forum : droits de la clé d'API", False, detail,
                     "Clé trop restreinte (" + ", ".join(refused) + ") : " + API_KEY_HELP)
    return Check("api_key", "Forum : droits de la clé d'API", True, detail)


def plugin(settings, gw) -> Check:
    from ..forum.gateway import ForumError, ForumNotFound

    label = "Forum : greffon discourse-forumsync"
    fix = ("Installez le greffon (docs/deploy.md, « Discourse ») : ligne git clone dans "
           "containers/app.yml, ./launcher rebuild app, puis cochez « forumsync enabled ».")
    try:
        caps = gw._get("/forumsync/capabilities.json")
    except ForumNotFound:
        return Check("plugin", label, False, "absent (sans lui, les auteurs de la liste sont "
                     "publiés par le compte passerelle avec une ligne d'attribution)", fix)
    except ForumError as exc:
        return Check("plugin", label, None, f"état inconnu : {exc}", fix)
    from ..localforum.plugin_api import VERSION as EXPECTED

    version = str(caps.get("version") or "?")
    features = caps.get("features") or []
    missing = [f for f in PLUGIN_FEATURES if f not in features]
    detail = f"installé, version {version} (forumsync attend {EXPECTED}), fonctions : {', '.join(features) or 'aucune'}"
    if missing:
        return Check("plugin", label, False, detail + f" ; manquantes : {', '.join(missing)}",
                     f"Mettez le greffon à jour en version {EXPECTED} (./launcher rebuild app).")
    return Check("plugin", label, True, detail)


def webhook_config(settings, gw) -> Check:
    """The forum's webhook points at WEB_URL/webhooks/discourse, is active, JSON, signed with
    FORUM_WEBHOOK_SECRET, and subscribed to the events forumsync needs."""
    from ..forum.gateway import ForumError, ForumRejected

    label = "Forum : webhook vers forumsync"
    url = settings.WEB_URL.rstrip("/") + WEBHOOK_PATH
    fix_all = (f"Administration → API → Webhooks → Nouveau : URL {url}, type application/json, "
               f"secret = FORUM_WEBHOOK_SECRET, événements : sujets, messages et catégories "
               f"(ou « Tout envoyer »), « Actif » coché.")
    try:
        body = gw._get("/admin/api/web_hooks.json")
    except ForumRejected as exc:
        return Check("webhook_config", label, None,
                     f"liste des webhooks illisible (HTTP {exc.status})",
                     "Donnez à la clé l'accès administrateur, puis vérifiez à la main : " + fix_all)
    except ForumError as exc:
        return Check("webhook_config", label, None, f"liste des webhooks illisible : {exc}", fix_all)
    hooks = body.get("web_hooks") or []
    mine = [h for h in hooks if str(h.get("payload_url", "")).rstrip("/") == url]
    if not mine:
        others = ", ".join(str(h.get("payload_url")) for h in hooks) or "aucun"
        return Check("webhook_config", label, False,
                     f"aucun webhook vers {url} (webhooks du forum : {others})", fix_all)
    hook = mine[0]
    problems, fixes = [], []
    if not hook.get("active"):
        problems.append("inactif")
        fixes.append("cochez « Actif »")
    if hook.get("content_type") not in (1, "1", "application/json"):
        problems.append("type de contenu formulaire au lieu de JSON")
        fixes.append("choisissez « application/json »")
    if not hmac.compare_digest(str(hook.get("secret") or ""), settings.FORUM_WEBHOOK_SECRET):
        problems.append("secret différent de FORUM_WEBHOOK_SECRET (forumsync refuserait chaque "
                        "envoi en 401)")
        fixes.append("recopiez FORUM_WEBHOOK_SECRET dans le champ « Secret »")
    names = {t.get("name") for t in hook.get("web_hook_event_types") or []}
    wildcard = bool(hook.get("wildcard_web_hook"))
    missing = [] if wildcard else [e for e in REQUIRED_EVENTS if e not in names
                                   and e.split("_")[0] not in names]
    if missing:
        problems.append("événements manquants : " + ", ".join(missing))
        fixes.append("cochez les événements de sujets et de messages")
    if hook.get("last_delivery_status") == 2:
        problems.append("le dernier envoi a échoué")
        fixes.append("ouvrez « Événements » du webhook dans Discourse pour voir la réponse de forumsync")
    if problems:
        return Check("webhook_config", label, False, f"{url} : " + " ; ".join(problems),
                     "Administration → API → Webhooks : " + " ; ".join(fixes) + ".")
    useful = [] if wildcard else [e for e in USEFUL_EVENTS if e not in names and "category" not in names]
    detail = f"{url}, actif, JSON, secret correct, événements {'tous' if wildcard else 'nécessaires présents'}"
    if useful:
        return Check("webhook_config", label, True,
                     detail + " (sans les événements de catégorie : un renommage de catégorie "
                              "est vu avec jusqu'à 30 s de retard)")
    return Check("webhook_config", label, True, detail)


def site_settings(settings, gw) -> list[Check]:
    from ..forum.gateway import ForumError

    checks = []
    try:
        items = {s.get("setting"): s for s in
                 gw._get("/admin/site_settings.json").get("site_settings", [])}
    except ForumError as exc:
        return [Check("site_settings", "Forum : réglages du site", None,
                      f"illisibles : {exc}", "Donnez à la clé l'accès administrateur.")]
    for name, wanted, why, fix in SITE_SETTINGS:
        label = f"Forum : réglage {name}"
        item = items.get(name)
        if item is None:
            checks.append(Check(name, label, None, "absent de /admin/site_settings.json", fix))
            continue
        value = str(item.get("value")).lower()
        ok = value == wanted
        checks.append(Check(name, label, ok, f"{value} ({'bon' if ok else 'il faut ' + wanted} : {why})",
                            "" if ok else fix))
    disable = items.get("disable_emails")
    if disable is not None:
        value = str(disable.get("value"))
        ok = value != "yes"
        checks.append(Check("disable_emails", "Forum : courriels de Discourse", ok,
                            f"disable_emails = {value}" + ("" if ok else " : le forum n'envoie plus "
                            "aucun courriel (confirmations, notifications des membres)"),
                            "" if ok else "Administration → Réglages → Courriel : remettez "
                            "« disable emails » à « no »."))
    checks.append(Check("admin_api_limit", "Forum : limite de l'API d'administration", None,
                        "non lisible par l'API (variable d'environnement du conteneur Discourse, "
                        "60 requêtes/min par défaut ; forumsync attend et réessaie sur 429)",
                        "Pour l'import de l'historique, mettez DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE: "
                        "600 dans la section env: de containers/app.yml puis ./launcher rebuild app."))
    return checks


def themes_provisioned(ctx) -> Check:
    from ..forum.gateway import ForumError
    from ..themes.provision import provision

    label = "Forum : thèmes provisionnés"
    if not ctx.settings.THEMES:
        return Check("themes", label, None, "aucun thème dans THEMES",
                     "Décrivez les thèmes dans THEMES (settings.example.py).")
    try:
        result = provision(ctx, dry_run=True)
    except ForumError as exc:
        return Check("themes", label, None, f"comparaison impossible : {exc}",
                     "Relancez « forumsync provision --dry-run » pour le détail.")
    pending = [c for c in result.changes if not c.drift]
    problems = []
    if pending:
        problems.append(f"{len(pending)} modification(s) à appliquer "
                        f"({'; '.join(c.describe() for c in pending[:3])}{'…' if len(pending) > 3 else ''})")
    if result.drift:
        problems.append(f"{len(result.drift)} écart(s) faits à la main sur le forum")
    if result.missing_accounts:
        problems.append("animateur(s) sans compte : " + ", ".join(e for _, e in result.missing_accounts))
    if problems:
        fix = "Lancez « forumsync provision" + (" --repair" if result.drift else "") + " »" + \
              (" ; invitez les animateurs sans compte puis relancez-le" if result.missing_accounts else "") + "."
        ok = False if (pending or result.drift) else None
        return Check("themes", label, ok, " ; ".join(problems), fix)
    return Check("themes", label, True, f"{len(ctx.settings.THEMES)} thème(s) conformes sur le forum")


def forum_checks(ctx) -> list[Check]:
    """Access first; the rest only when the key works (else every line would repeat the error)."""
    settings = ctx.settings
    access, gw = forum_access(settings)
    checks = [access]
    if gw is None:
        return checks
    checks.append(key_permissions(settings, gw))
    checks.append(plugin(settings, gw))
    checks.append(webhook_config(settings, gw))
    checks.extend(site_settings(settings, gw))
    checks.append(themes_provisioned(ctx))
    return checks
