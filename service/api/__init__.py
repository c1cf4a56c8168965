"""The HTTP service: a Flask application factory, one blueprint per job, one error shape.

Every error, whatever raised it, leaves as RFC 7807 ``application/problem+json`` with a
``detail`` that says what to fix (``errors.py`` owns the mapping from failure kind to
status). Blueprints: ``explain`` (stateless), ``reports`` and ``holds`` (stored PHI,
bearer tokens via ``auth``), ``actions`` (sync, process, clinician hold/release, FHIR
notifications), ``health``, ``observe`` (request ids, /metrics) and ``demo`` (the page at
/); ``headers`` puts the security headers on every response. Long-lived collaborators
(store, pipeline) are opened on first use by ``wiring``.
"""

from __future__ import annotations

from flask import Flask

from ..config import Settings
from ..errors import ConfigError
from ..render import Renderer
from .actions import bp as actions_bp
from .auth import Verifier
from .demo import bp as demo_bp
from .embed import bp as embed_bp
from .embed import install_cors
from .errors import register_error_handlers
from .explain import bp as explain_bp
from .headers import install as install_security_headers
from .health import bp as health_bp
from .holds import bp as holds_bp
from .observe import install as install_observability
from .reports import bp as reports_bp

MAX_REQUEST_BYTES = 5 * 1024 * 1024  # a report is a few kB; larger bodies are refused (413)


def create_app(settings: Settings, explainer=None) -> Flask:
    app = Flask(__name__, static_folder=None)  # the demo blueprint serves its own
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.extensions["radplain.settings"] = settings
    if explainer is None:
        from .. import mappings
        from ..annotate.explain import Explainer

        explainer = Explainer(mappings.default())
    app.extensions["radplain.explainer"] = explainer
    app.extensions["radplain.renderer"] = Renderer(explainer.m.ui)
    app.extensions["radplain.verifier"] = _verifier(settings)
    register_error_handlers(app)
    install_observability(app)
    install_security_headers(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(explain_bp)
    app.register_blueprint(holds_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(actions_bp)
    app.register_blueprint(demo_bp)
    app.register_blueprint(embed_bp)
    install_cors(app, settings.portal_origins)
    return app


def _verifier(settings: Settings) -> Verifier | None:
    if not settings.auth_issuer:
        return None  # stored-PHI routes then refuse every request, saying what to configure
    key = None
    if settings.auth_public_key_file:
        try:
            with open(settings.auth_public_key_file, encoding="utf-8") as f:
                key = f.read()
        except OSError as exc:
            raise ConfigError(
                f"RADPLAIN_AUTH_PUBLIC_KEY_FILE={settings.auth_public_key_file}: cannot read "
                f"it ({exc.strerror})"
            ) from exc
    return Verifier(
        settings.auth_issuer,
        settings.auth_audience,
        jwks_url=settings.auth_jwks_url,
        public_key=key,
    )
