# Réglages de forumsync — copiez ce fichier (par ex. en settings.py) et adaptez-le.
# Chaque clé a une valeur par défaut : ce fichier tel quel fait tourner la démo locale
# (SQLite, forum local). `forumsync --settings settings.py check-settings` vérifie le fichier.

# --- Stockage -----------------------------------------------------------------------------
# Base de données de forumsync : sqlite:///chemin (relatif à ce fichier) ou postgresql://…
DATABASE_URL = "sqlite:///var/forumsync.sqlite3"

# --- Forum Discourse (Bistro) ---------------------------------------------------------------
# Adresse du forum ; pour la démo, le forum local écoute sur cet hôte:port.
FORUM_URL = "http://127.0.0.1:4200"
# Clé d'API administrateur et compte qui l'utilise (le « compte passerelle »).
FORUM_API_KEY = "demo-api-key"
FORUM_API_USERNAME = "system"
# Secret partagé des webhooks Discourse (signature X-Discourse-Event-Signature) ; vide : aucun
# événement n'est accepté.
FORUM_WEBHOOK_SECRET = "demo-webhook-secret"
# Nom du forum tel qu'affiché dans les courriels (« Prénom Nom (via Bistro) »).
FORUM_NAME = "Bistro"
# Forme des liens que l'on ouvre (pied « Répondre sur Bistro », tableau de bord) : "discourse"
# (/t/sujet/42/3, pages de Discourse) ou "localforum" (/ui/t/42, vue HTML du forum local de la démo).
FORUM_LINK_STYLE = "discourse"
# Délai d'attente d'une requête au forum (secondes ; un lot de messages du greffon attend ce
# délai par tranche de 50 messages), nombre de nouvelles tentatives sur erreur 5xx/réseau, et
# attente maximale acceptée sur un 429 Retry-After (secondes).
FORUM_TIMEOUT = 10.0
FORUM_RETRIES = 4
FORUM_MAX_WAIT = 60.0
# Délai de base entre deux tentatives (secondes), doublé à chaque essai, avec une part de
# hasard ; 0 : nouvelle tentative immédiate (utile aux tests, déconseillé en production).
FORUM_BACKOFF = 0.5
# Requêtes au forum par minute, pour tous les processus forumsync qui partagent cette base
# ensemble (budget tenu dans la base) : 60 est la limite par défaut de Discourse pour l'API
# d'administration (max_admin_api_reqs_per_minute) ; l'aligner sur celle du forum. 0 : aucune
# limite de notre côté (forum sans limite, tests) ; un 429 du forum est respecté de toute façon.
FORUM_MAX_REQUESTS_PER_MINUTE = 60
# Avec le greffon (capacité « batch_posts »), le worker publie par lots (une requête pour
# jusqu'à 50 messages) dès qu'il trouve au moins ce nombre de messages en attente ;
# « import-mbox » publie toujours par lots. 0 : jamais de lots pour le worker.
INBOX_BATCH_THRESHOLD = 20
# Processus qui préparent à l'avance les messages d'un arriéré (analyse MIME, décodage,
# citations) pendant que le worker attend le forum ; None : un de moins que de processeurs
# (le worker fait le reste, et ce que le pool n'a pas encore commencé) ; 0 : aucun (tout dans
# le processus du worker : un import du corpus de bench/ tient alors en 84 Mo de PSS, au lieu
# de ~112 Mo pour tous les processus avec le pool, mais sur un seul cœur).
# Une base SQLite garde un seul worker : le pool est en lui.
PIPELINE_POOL_SIZE = None
# Secondes de processeur que la conversion d'un message peut prendre (analyse, corps,
# citations, contrôle du texte publié) ; au-delà, il est mis en quarantaine (« traitement trop
# long… ») et la file continue. 0 : pas de limite.
PIPELINE_MESSAGE_CPU_SECONDS = 30

# --- La liste de diffusion ------------------------------------------------------------------
LIST_ADDRESS = "club@listes.example.org"
LIST_NAME = "Club Publik"
# Étiquette de sujet ajoutée par le gestionnaire de liste, retirée des titres des sujets.
LIST_TAG = "[club-publik]"
# Expressions régulières supplémentaires reconnaissant le pied de page de la liste (le pied
# Mailman « ____ » est reconnu d'office). Cherchées ligne à ligne, sans casse, dans le texte
# déjà converti en Markdown ; tout ce qui suit la première correspondance est retiré.
LIST_FOOTER_PATTERNS = []
# Adresse d'expédition des messages du forum vers la liste (jamais celle de l'auteur : DMARC).
BRIDGE_ADDRESS = "bistro@forumsync.example.org"
# Adresse de réponse signée (local+jeton@domaine) ; par défaut celle de BRIDGE_ADDRESS.
REPLY_ADDRESS = None
# Durée de validité des adresses de réponse signées, en jours.
REPLY_TOKEN_MAX_AGE_DAYS = 30
# authserv-id du serveur de courrier de la liste (celui qui écrit les en-têtes
# Authentication-Results : « lists.example.org; dmarc=pass … »), comme email_in_authserv_id de
# Discourse. Seuls ses verdicts comptent : DMARC en échec → message en quarantaine ; sans
# verdict (ou None), jamais publié sous un compte admin/modérateur ; réussi → le compte de
# l'adresse. Ce serveur doit retirer les Authentication-Results entrants portant cet identifiant.
AUTHSERV_ID = None
# Limites des messages entrants (octets, nombre de pièces jointes).
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 20
# Fenêtre (jours) pendant laquelle un même sujet nettoyé rattache un message à un fil existant.
SUBJECT_THREAD_DAYS = 30
# Montrer l'adresse de l'auteur dans X-Original-From (sinon l'URL de son profil).
EXPOSE_AUTHOR_EMAIL = False
# Envoyer une courte notice « [modifié] » à la liste quand un message du forum est modifié.
SEND_EDIT_NOTICES = False
# Délai (secondes) entre l'écriture d'un message sur le forum et son envoi à la liste. Pendant
# ce délai, l'équipe du forum (et ses filtres anti-spam, les signalements) peut masquer,
# supprimer ou corriger le message : il part tel que le forum le montre à la fin du délai, ou
# ne part pas. Discourse attend de même email_time_window_mins (10 min) avant d'écrire à ses
# abonnés « liste de diffusion ». 600 par défaut, comme Discourse ; 0 : aussitôt (la démo, les
# tests).
LIST_SEND_DELAY_SECONDS = 600

# --- Thèmes ---------------------------------------------------------------------------------
# Catégorie parente des thèmes sur le forum.
PARENT_CATEGORY = "Club Publik"
# Thème des nouveaux sujets qu'aucune règle ne classe (slug d'un thème ci-dessous).
DEFAULT_THEME = "general"
# Score minimal des mots-clés trouvés dans le seul corps du message (une mention = 1 point)
# pour classer un sujet ailleurs que dans DEFAULT_THEME : une mention en passant ne suffit pas.
# Un mot-clé dans l'objet (10 points) ou une [ÉTIQUETTE] (100 points) l'emporte toujours.
THEME_BODY_MIN_SCORE = 2
# Un thème = une sous-catégorie animée par une collectivité. Routage des nouveaux sujets :
# adresse (addresses) parmi To/Cc, puis [ÉTIQUETTE] du sujet (tags), puis mots-clés (keywords,
# cherchés dans l'objet, étiquettes entre crochets comprises, puis dans le message).
# Clés facultatives : "color" ; "mirrored": False (un thème du forum seul : ses messages ne vont
# pas sur la liste et le courrier de la liste n'y ouvre pas de sujet) ; "group" (le nom du
# groupe d'animateurs, « animateurs-{slug} » coupé à 20 caractères sinon ; deux thèmes ne
# peuvent pas partager un groupe).
THEMES = [
    {
        "slug": "sve",
        "name": "SVE",
        "description": "Saisine par voie électronique : démarches, accusés de réception, délais.",
        "lead": "Meyzieu",
        "lead_emails": ["animation-sve@meyzieu.fr"],
        "tags": ["SVE"],
        "keywords": ["SVE", "saisine", "accusé de réception"],
        "addresses": ["sve@listes.example.org"],
    },
    {
        "slug": "open-data",
        "name": "Open data",
        "description": "Publication de données ouvertes depuis Publik.",
        "lead": "Montpellier Méditerranée Métropole",
        "lead_emails": ["opendata@montpellier3m.fr"],
        "tags": ["OPENDATA", "OPEN DATA"],
        "keywords": ["open data", "opendata", "données ouvertes", "data.gouv"],
        "addresses": [],
    },
    {
        "slug": "famille",
        "name": "Portail famille",
        "description": "Inscriptions scolaires, périscolaire, restauration.",
        "lead": "Grand Lyon",
        "lead_emails": ["famille@grandlyon.com"],
        "tags": ["FAMILLE"],
        "keywords": ["portail famille", "périscolaire", "cantine", "inscription scolaire"],
        "addresses": [],
    },
    {
        "slug": "general",
        "name": "Discussions générales",
        "description": "Tout ce qui ne relève pas d'un thème.",
        "lead": "Entr'ouvert",
        "lead_emails": [],
        "tags": [],
        "keywords": [],
        "addresses": [],
    },
]

# --- Service web -----------------------------------------------------------------------------
# Où `forumsync serve` écoute (webhooks, réception HTTP, tableau de bord).
WEB_URL = "http://127.0.0.1:5000"
# Adresse d'écoute (« hôte:port ») quand WEB_URL est l'adresse publique derrière un mandataire
# inverse (https://forumsync.example.org servi par nginx) ; None : l'hôte et le port de WEB_URL.
# Hors de la boucle locale (0.0.0.0, ::, une adresse du réseau), `serve` refuse de démarrer
# tant que les secrets gardent leur valeur de démonstration.
WEB_LISTEN = None
# Secret de signature des sessions et des adresses de réponse : À CHANGER en production.
SECRET_KEY = "change-me-demo-secret"
# Jeton « Bearer » exigé par POST /inbound/mail (et par l'archiveur Mailman).
INBOUND_TOKEN = "demo-inbound-token"
# Empreinte (werkzeug.security.generate_password_hash) du mot de passe du tableau de bord ;
# None : connexion par mot de passe désactivée (la démo en fixe un : « demo »).
DASHBOARD_PASSWORD_HASH = None

# --- Courrier ----------------------------------------------------------------------------------
# Serveur LMTP de forumsync (abonnement de la passerelle à la liste), hôte:port. 8024 est aussi
# le port LMTP de Mailman 3 : sur une machine qui le fait tourner, prenez-en un autre (8034 dans
# deploy/).
LMTP_LISTEN = "127.0.0.1:8024"
# Où remettre le courrier pour la liste : smtp://hôte:port, smtps://… ou lmtp://hôte:port.
SMTP_URL = "smtp://127.0.0.1:8025"
SMTP_USERNAME = None
SMTP_PASSWORD = None
SMTP_STARTTLS = False

# --- Forum local (démo et tests) -----------------------------------------------------------------
# Base du forum local ; par défaut à côté de DATABASE_URL (…-localforum.sqlite3).
LOCALFORUM_DATABASE_URL = None
# Où le forum local envoie ses webhooks ; par défaut WEB_URL + "/webhooks/discourse".
LOCALFORUM_WEBHOOK_URL = None
# Limite de requêtes par minute du forum local, pour toutes les clés d'API ensemble, comme le
# réglage global max_admin_api_reqs_per_minute de Discourse (60 par défaut) ; 0 : aucune.
LOCALFORUM_RATE_LIMIT = 60

# --- Catalogue des démarches ---------------------------------------------------------------------
# Une entrée par collectivité : type "wcs-api" (url, orig, key), "directory" ou "bundle" (path).
CATALOGUE_SOURCES = [
    # {"name": "meyzieu", "collectivity": "Meyzieu", "type": "wcs-api",
    #  "url": "https://demarches.meyzieu.fr", "orig": "bistro", "key": "…"},
    # {"name": "imio", "collectivity": "iMio", "type": "directory", "path": "exports/imio"},
]
# Catégorie du catalogue sur le forum.
CATALOGUE_CATEGORY = "Catalogue des démarches"
# Seuil (0-100) de similarité des titres pour regrouper une même démarche entre collectivités.
CATALOGUE_MATCH_THRESHOLD = 90.0
# Intervalle de synchronisation automatique du catalogue par le worker, en minutes.
CATALOGUE_INTERVAL_MINUTES = 24 * 60

# --- Vie du club -----------------------------------------------------------------------------------
# Sources d'abonnés : {"type": "mailman", "url": …, "user": …, "password": …, "list": …}
# ou {"type": "csv", "path": …}.
SUBSCRIBER_SOURCES = []
# Annuaire : {"name": …, "summary": …, "themes": [slugs…], "software": [...], "url": …}. Une fiche
# publique par collectivité ; les logiciels vont dans une catégorie lisible par MEMBERS_GROUP seul.
COLLECTIVITIES = []
# Flux de notes de version : {"name": …, "url": …, "announce": False} (RSS ou Atom ; url en
# http(s):// ou file://), ou une page HTML : {"name": …, "url": …, "type": "html",
# "selector": "article.release"} (chaque élément balise.classe est une version : titre = premier
# h1…h6, lien = premier <a href>, date = <time datetime>). « announce » : annonce à la liste des
# nouvelles versions parues après la première lecture du flux.
RELEASE_FEEDS = []
# Intervalle de lecture des sources d'abonnés par le worker, en minutes.
SUBSCRIBERS_INTERVAL_MINUTES = 15
# True : un message hebdomadaire à la liste présente les nouveaux abonnés de la semaine.
NEWCOMERS_DIGEST = False
# Intervalle de lecture des flux de notes de version, en minutes.
RELEASES_INTERVAL_MINUTES = 60
# Groupe du forum des membres : seul à lire la catégorie du recensement des logiciels métier.
MEMBERS_GROUP = "membres"
# Événements du club pour la frise du tableau de bord : {"date": "2026-06-12", "title": …}.
CLUB_EVENTS = []
# Secret DiscourseConnect (SSO) partagé avec le forum ; None : connexion par mot de passe seulement.
DISCOURSE_CONNECT_SECRET = None
# Réglages supplémentaires propres à un déploiement (dictionnaire libre).
EXTRA = {}

# --- Worker ----------------------------------------------------------------------------------------
# Intervalle d'attente du worker quand il n'a rien à faire (secondes).
WORKER_POLL_SECONDS = 1.0
# Rattrapage forum → liste : toutes les N secondes (et au démarrage) le worker relit les derniers
# messages du forum et traite ceux dont aucun webhook n'est arrivé (forumsync arrêté plus longtemps
# que les nouvelles tentatives de Discourse). 0 : jamais.
FORUM_CATCHUP_SECONDS = 300.0
