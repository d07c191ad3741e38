# forumsync — modèle de /etc/forumsync/settings.py pour la production (docs/deploy.md).
# Chaque clé est documentée dans settings.example.py ; « forumsync check-settings » vérifie.
# Remplacez chaque « À REMPLACER … » : forumsync refuse de démarrer tant qu'il en reste un.
DATABASE_URL = "postgresql+psycopg://forumsync@/forumsync"   # socket Unix, authentification peer

FORUM_URL = "https://bistro.example.org"
FORUM_API_KEY = "À REMPLACER : clé d'API « Utilisateur unique » pour system (docs/deploy.md)"
FORUM_API_USERNAME = "system"
FORUM_WEBHOOK_SECRET = "À REMPLACER : secret du webhook, recopié dans Discourse"
FORUM_NAME = "Bistro"
FORUM_LINK_STYLE = "discourse"

LIST_ADDRESS = "club@listes.example.org"
LIST_NAME = "Club Publik"
BRIDGE_ADDRESS = "bistro@forumsync.example.org"
LIST_SEND_DELAY_SECONDS = 600                   # comme Discourse : 10 min pour masquer un spam

WEB_URL = "https://forumsync.example.org"     # adresse publique (nginx)
WEB_LISTEN = "127.0.0.1:5000"                  # où forumsync serve écoute
SECRET_KEY = "À REMPLACER : python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
INBOUND_TOKEN = "À REMPLACER : un autre secret, recopié dans forumsync-archiver.cfg"
DASHBOARD_PASSWORD_HASH = None                  # ou connexion par le forum (DISCOURSE_CONNECT_SECRET)

LMTP_LISTEN = "127.0.0.1:8034"                  # pas 8024 : le port LMTP de Mailman 3 (même machine)
SMTP_URL = "smtp://127.0.0.1:25"               # Postfix local

THEMES = []                                     # voir settings.example.py
