"""French error pages for the whole web app (Werkzeug's own are English).

HTML for people (the dashboard's look, without its menu), JSON for the machine endpoints
(``/inbound/…``, ``/webhooks/…``). A 500 never shows the exception: it is logged, the page
says only that the error was recorded.
"""
from __future__ import annotations

import logging

from flask import jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

# code -> (title, what the person can do)
PAGES = {
    400: ("Requête invalide", "La requête envoyée n'a pas pu être comprise."),
    401: ("Connexion nécessaire", "Connectez-vous pour accéder à cette page."),
    403: ("Accès refusé", "Vous n'avez pas le droit d'accéder à cette page."),
    404: ("Page introuvable", "Cette adresse ne correspond à aucune page de forumsync."),
    405: ("Méthode non permise", "Cette page ne s'utilise pas de cette façon."),
    413: ("Envoi trop volumineux", "Les données envoyées dépassent la taille acceptée."),
    429: ("Trop de requêtes", "Trop de requêtes en peu de temps : patientez avant de réessayer."),
    500: ("Erreur interne", "Une erreur inattendue s'est produite ; elle a été enregistrée "
                            "dans le journal de forumsync. Réessayez plus tard."),
}
MACHINE_PREFIXES = ("/inbound/", "/webhooks/")


def _wants_json() -> bool:
    return request.path.startswith(MACHINE_PREFIXES) or (
        request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
        and not request.accept_mimetypes.accept_html)


def render(exc: HTTPException):
    code = exc.code or 500
    title, default = PAGES.get(code, (f"Erreur {code}", "La requête n'a pas abouti."))
    # our own abort(…, description=…) carry a French text; Werkzeug's defaults are English
    custom = exc.description and exc.description != type(exc).description and code != 500
    message = exc.description if custom else default
    if _wants_json():
        response = jsonify({"error": code, "titre": title, "message": message})
    else:
        response = make_response(render_template("dashboard/error.html", code=code, title=title,
                                                 message=message))
    response.status_code = code
    for name, value in exc.get_headers():  # Allow (405), Retry-After (429)…
        if name in ("Retry-After", "Allow", "WWW-Authenticate"):
            response.headers[name] = value
    return response


def internal_error(exc: InternalServerError):
    log.error("erreur interne sur %s %s", request.method, request.path,
              exc_info=getattr(exc, "original_exception", None) or exc)
    return render(InternalServerError())


def register(app) -> None:
    app.register_error_handler(HTTPException, render)
    app.register_error_handler(InternalServerError, internal_error)
