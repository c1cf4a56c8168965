"""One settings object, read from the environment and validated once, at startup.

Every setting is documented in the README with its default. Secrets can come from files
(``*_FILE``) so they need not sit in the environment. Errors name the variable and say
what is wrong.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .documents.limits import Limits
from .errors import ConfigError


class _SettingsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    RADPLAIN_FHIR_BASE = fields.Url(require_tld=False, schemes={"http", "https"}, load_default=None)
    DATABASE_URL = fields.String(load_default="sqlite:///radplain.sqlite3")
    RADPLAIN_SMART_CLIENT_ID = fields.String(load_default=None)
    RADPLAIN_SMART_KEY_FILE = fields.String(load_default=None)
    RADPLAIN_SMART_KID = fields.String(load_default=None)
    RADPLAIN_SMART_ALG = fields.String(
        load_default="RS384", validate=validate.OneOf(["RS384", "ES384"])
    )
    RADPLAIN_SMART_SCOPES = fields.String(
        load_default="system/DiagnosticReport.read system/Communication.read "
        "system/Communication.write system/Provenance.write"
    )
    RADPLAIN_FHIR_TIMEOUT = fields.Float(load_default=30.0, validate=validate.Range(min=1, max=300))
    RADPLAIN_FHIR_RETRIES = fields.Integer(load_default=5, validate=validate.Range(min=1, max=20))
    RADPLAIN_PAGE_SIZE = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    RADPLAIN_SYNC_INTERVAL = fields.Float(load_default=60.0, validate=validate.Range(min=1))
    RADPLAIN_SYNC_WORKERS = fields.Integer(load_default=4, validate=validate.Range(min=1, max=32))
    # a worker replica silent this long (killed, its node lost) loses its claimed reports to
    # the others; a live one renews its claims before each report
    RADPLAIN_WORK_LEASE = fields.Float(load_default=300.0, validate=validate.Range(min=2, max=3600))
    RADPLAIN_RELEASE_STATE = fields.String(
        load_default=None, validate=validate.Regexp(r"^[A-Z]{2}$")
    )
    RADPLAIN_HOLD_FOR_CLINICIAN_REVIEW = fields.Boolean(load_default=False)
    RADPLAIN_NOTIFY_HEADER = fields.String(load_default="Authorization")
    RADPLAIN_NOTIFY_SECRET = fields.String(load_default=None)
    # bearer tokens for the stored-PHI endpoints (the hospital's authorization server)
    RADPLAIN_AUTH_ISSUER = fields.String(load_default=None)
    RADPLAIN_AUTH_AUDIENCE = fields.String(load_default=None)
    RADPLAIN_AUTH_JWKS_URL = fields.Url(
        require_tld=False, schemes={"https", "http"}, load_default=None
    )
    RADPLAIN_AUTH_PUBLIC_KEY_FILE = fields.String(load_default=None)
    # patient portals that embed explanations: may frame /embed and call the API from
    # their pages (CORS); space-separated origins, none by default
    RADPLAIN_PORTAL_ORIGINS = fields.String(load_default="")
    # reports as PDFs and images (service/documents): limits, and the OCR confidence below
    # which a word makes no clinical claim. Pillow refuses over 178,956,970 pixels anyway.
    RADPLAIN_MAX_DOCUMENT_BYTES = fields.Integer(
        load_default=Limits.max_bytes, validate=validate.Range(min=1024, max=200 * 1024 * 1024)
    )
    RADPLAIN_MAX_PAGES = fields.Integer(
        load_default=Limits.max_pages, validate=validate.Range(min=1, max=500)
    )
    RADPLAIN_MAX_IMAGE_PIXELS = fields.Integer(
        load_default=Limits.max_pixels, validate=validate.Range(min=10_000, max=178_000_000)
    )
    RADPLAIN_DOCUMENT_TIMEOUT = fields.Float(
        load_default=Limits.timeout, validate=validate.Range(min=1, max=600)
    )
    RADPLAIN_OCR_MIN_CONFIDENCE = fields.Float(
        load_default=Limits.min_confidence, validate=validate.Range(min=0, max=100)
    )


@dataclass(frozen=True)
class Settings:
    fhir_base: str | None
    database_url: str
    smart_client_id: str | None
    smart_key_file: str | None
    smart_kid: str | None
    smart_alg: str
    smart_scopes: str
    fhir_timeout: float
    fhir_retries: int
    page_size: int
    sync_interval: float
    sync_workers: int
    release_state: str | None
    hold_for_clinician_review: bool
    notify_header: str
    notify_secret: str | None
    auth_issuer: str | None = None
    auth_audience: str | None = None
    auth_jwks_url: str | None = None
    auth_public_key_file: str | None = None
    portal_origins: tuple[str, ...] = ()
    documents: Limits = Limits()
    work_lease: float = 300.0

    @property
    def smart_enabled(self) -> bool:
        return bool(self.smart_client_id)


# scheme://host[:port] and nothing else: these go into CSP frame-ancestors and CORS, where
# a path, a wildcard or a stray quote would either fail open or silently match nothing
_ORIGIN = re.compile(r"^https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")


def _origins(value: str) -> tuple[str, ...]:
    origins = tuple(value.replace(",", " ").split())
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise ConfigError(
                f"RADPLAIN_PORTAL_ORIGINS: {origin!r} is not an origin; give each portal as "
                "scheme://host[:port], e.g. https://portal.example.org (no path, no wildcard)"
            )
    return origins


def load(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    for name in ("RADPLAIN_NOTIFY_SECRET",):  # secrets may come from a file
        path = env.get(f"{name}_FILE")
        if path:
            try:
                env[name] = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{name}_FILE={path}: cannot read it ({exc.strerror})") from exc
    try:
        data = _SettingsSchema().load(
            {k: v for k, v in env.items() if k in _SettingsSchema._declared_fields}
        )
    except ValidationError as exc:
        name, problems = next(iter(exc.messages.items()))
        raise ConfigError(f"{name}: {'; '.join(map(str, problems))}") from exc
    settings = Settings(
        fhir_base=data["RADPLAIN_FHIR_BASE"],
        database_url=data["DATABASE_URL"],
        smart_client_id=data["RADPLAIN_SMART_CLIENT_ID"],
        smart_key_file=data["RADPLAIN_SMART_KEY_FILE"],
        smart_kid=data["RADPLAIN_SMART_KID"],
        smart_alg=data["RADPLAIN_SMART_ALG"],
        smart_scopes=data["RADPLAIN_SMART_SCOPES"],
        fhir_timeout=data["RADPLAIN_FHIR_TIMEOUT"],
        fhir_retries=data["RADPLAIN_FHIR_RETRIES"],
        page_size=data["RADPLAIN_PAGE_SIZE"],
        sync_interval=data["RADPLAIN_SYNC_INTERVAL"],
        sync_workers=data["RADPLAIN_SYNC_WORKERS"],
        release_state=data["RADPLAIN_RELEASE_STATE"],
        hold_for_clinician_review=data["RADPLAIN_HOLD_FOR_CLINICIAN_REVIEW"],
        notify_header=data["RADPLAIN_NOTIFY_HEADER"],
        notify_secret=data["RADPLAIN_NOTIFY_SECRET"],
        auth_issuer=data["RADPLAIN_AUTH_ISSUER"],
        auth_audience=data["RADPLAIN_AUTH_AUDIENCE"],
        auth_jwks_url=data["RADPLAIN_AUTH_JWKS_URL"],
        auth_public_key_file=data["RADPLAIN_AUTH_PUBLIC_KEY_FILE"],
        portal_origins=_origins(data["RADPLAIN_PORTAL_ORIGINS"]),
        work_lease=data["RADPLAIN_WORK_LEASE"],
        documents=Limits(
            max_bytes=data["RADPLAIN_MAX_DOCUMENT_BYTES"],
            max_pages=data["RADPLAIN_MAX_PAGES"],
            max_pixels=data["RADPLAIN_MAX_IMAGE_PIXELS"],
            timeout=data["RADPLAIN_DOCUMENT_TIMEOUT"],
            min_confidence=data["RADPLAIN_OCR_MIN_CONFIDENCE"],
        ),
    )
    if settings.auth_issuer and not (
        settings.auth_audience and (settings.auth_jwks_url or settings.auth_public_key_file)
    ):
        raise ConfigError(
            "RADPLAIN_AUTH_ISSUER is set, so RADPLAIN_AUTH_AUDIENCE (this service's id in the "
            "tokens' aud) and RADPLAIN_AUTH_JWKS_URL or RADPLAIN_AUTH_PUBLIC_KEY_FILE are "
            "required too"
        )
    if settings.smart_enabled and not (settings.smart_key_file and settings.smart_kid):
        raise ConfigError(
            "RADPLAIN_SMART_CLIENT_ID is set, so RADPLAIN_SMART_KEY_FILE (the PEM private "
            "key) and RADPLAIN_SMART_KID (its key id in your JWKS) are required too"
        )
    return settings
