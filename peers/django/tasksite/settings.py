"""Settings for the Django/DRF reference peer: a plain API-only project."""
import os

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Not a secret: the peer has no sessions, no signing, no users.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "prefork-peer-not-secret")

DEBUG = False

ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    # DRF's request.user falls back to django.contrib.auth's AnonymousUser.
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "tasks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "tasksite.urls"
WSGI_APPLICATION = "tasksite.wsgi.application"
APPEND_SLASH = False

# PGHOST may be a Unix-socket directory. CONN_MAX_AGE stays at Django's default
# (0): a new PostgreSQL connection per request, as in most deployments.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PGDATABASE", "prefork"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
        "HOST": os.environ.get("PGHOST", ""),
        "PORT": os.environ.get("PGPORT", ""),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
