"""Minimal Django settings to run HyperKitty 1.3.12's ``hyperkitty_import`` into SQLite.

Used only by bench/import_pace.py as the peer forumsync's import is measured against. No web
server, no Mailman: ``--no-sync-mailman``; Django-Q tasks are queued in the database (no cluster
runs them), as HyperKitty queues them in production for its qcluster.
"""
import os

BASE_DIR = os.environ.get("HK_BENCH_DIR", "/tmp/hyperkitty-bench")
SECRET_KEY = "bench-only"
DEBUG = False
SITE_ID = 1
ALLOWED_HOSTS = ["localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

MAILMAN_REST_API_URL = "http://127.0.0.1:9"
MAILMAN_REST_API_USER = "restadmin"
MAILMAN_REST_API_PASS = "restpass"
MAILMAN_ARCHIVER_KEY = "bench"
MAILMAN_ARCHIVER_FROM = ("127.0.0.1",)

INSTALLED_APPS = (
    "hyperkitty",
    "django_mailman3",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_gravatar",
    "compressor",
    "haystack",
    "django_extensions",
    "django_q",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
)
MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
)
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.path.join(BASE_DIR, "hyperkitty.sqlite3")}}
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}
Q_CLUSTER = {"orm": "default", "timeout": 300, "retry": 360, "save_limit": 100}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STATIC_ROOT = os.path.join(BASE_DIR, "static")
STATIC_URL = "/static/"
COMPRESS_ENABLED = False
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request"]}}]
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"null": {"class": "logging.NullHandler"}},
           "root": {"handlers": ["null"], "level": "WARNING"}}
