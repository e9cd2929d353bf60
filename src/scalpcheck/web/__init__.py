"""The web app: accounts, assessments with explanation and advice, history, and the JSON API.

Production: `gunicorn "scalpcheck.web:create_app()"` after `scalpcheck db upgrade`. Every setting comes
from scalpcheck.settings; `config` overrides Flask settings (tests, benchmarks).
"""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher, profiles
from flask import Flask
from flask_babel import lazy_gettext
from werkzeug.middleware.proxy_fix import ProxyFix

from scalpcheck.quality import QualityLimits
from scalpcheck.serve import Assessor
from scalpcheck.serve.explain import FOCUS
from scalpcheck.settings import load_settings
from scalpcheck.web import audit, database, errors, language, security
from scalpcheck.web.extensions import APP_STATE, AppState, csrf, db, limiter, login_manager, mail, migrate
from scalpcheck.web.request import UploadRequest
from scalpcheck.web.storage import open_store

# Room for the multipart envelope around the photo, so the photo's own limit (MAX_UPLOAD_MB) decides.
MULTIPART_ALLOWANCE = 64 * 1024


def create_app(config: dict | None = None) -> Flask:
    settings = load_settings()
    app = Flask(__name__)
    app.request_class = UploadRequest
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key(),
        SQLALCHEMY_DATABASE_URI=database.database_uri(settings.database_url),
        # Connections that died (a database restart) are replaced instead of failing a request.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + MULTIPART_ALLOWANCE,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        # No X-RateLimit-* headers on every response: they cost two more storage round trips per request.
        # A refused request still says when to retry (Retry-After, scalpcheck.web.errors).
        RATELIMIT_HEADERS_ENABLED=False,
        RATELIMIT_LOGIN="10 per minute; 100 per day",
        RATELIMIT_REGISTER="5 per minute; 50 per day",
        RATELIMIT_TOKENS="10 per minute; 100 per day",
        RATELIMIT_API="300 per minute",
        API_TOKEN_LIFETIME=timedelta(hours=24),
        API_PAGE_SIZE_MAX=100,
        REPORT_MAX_ENTRIES=100,  # the doctor's report covers the latest ones: its size and time stay bounded
        # Account recovery: a reset link is short-lived, an address check lasts a day; asking is limited.
        RESET_LINK_LIFETIME=timedelta(minutes=30),
        VERIFY_LINK_LIFETIME=timedelta(hours=24),
        RATELIMIT_FORGOT="5 per minute; 20 per day",
        # Flask-Mail: no MAIL_SERVER, no recovery by mail (the pages say so); tests and TESTING still send.
        MAIL_SERVER=None,
        MAIL_SUPPRESS_SEND=False,
        **(settings.mail.flask_config() if settings.mail else {}),
        ARGON2_PROFILE="RFC_9106_LOW_MEMORY",  # argon2id, 64 MiB, 3 passes: RFC 9106's second choice
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session: a form left open still submits
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted. Behind one,
        # set it to 1: else every user shares the proxy's address for rate limits.
        TRUSTED_PROXIES=0,
    )
    app.config.update(config or {})
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db.init_app(app)
    database.end_sessions_quietly(app, db)
    with app.app_context():
        database.tune_engine(db.engine)
    migrate.init_app(app, db, directory=str(database.MIGRATIONS_DIR))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    mail.init_app(app)
    language.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    app.extensions[APP_STATE] = AppState(
        settings=settings,
        assessor=Assessor(settings.models_dir, settings.max_upload_bytes),
        store=open_store(settings),  # a missing or wrong image key stops the start here
        password_hasher=PasswordHasher.from_parameters(getattr(profiles, app.config["ARGON2_PROFILE"])),
    )

    # Imported here, as microblog does: the blueprints import the extensions above.
    from scalpcheck.web import account, api, assess, auth, history, install, main, service, visits

    app.register_blueprint(main.bp)
    app.register_blueprint(install.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(assess.bp)
    app.register_blueprint(history.bp)
    app.register_blueprint(visits.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(api.bp)
    errors.register(app)
    security.register(app)
    audit.init_app(app)

    # The camera view's framing guide judges light and focus with the quality gate's own limits.
    app.jinja_env.globals["quality_limits"] = QualityLimits()
    # The heat map in words beside the image (serve.explain.focus measured it when the photo was assessed).
    app.jinja_env.globals["heat_focus"] = FOCUS

    @app.context_processor
    def upload_limits() -> dict:
        # Every upload page announces both: the browser checks the size and scales the photo down first.
        return {"upload": settings.upload_limits}

    # What a process killed mid-change left (on any host, when they share a bucket): settled at start, after
    # every upload, and by the first request after each RECOVERY_INTERVAL_S, uploads or not.
    app.before_request(service.recover_images_when_due)
    with app.app_context():
        service.recover_images()
    return app
