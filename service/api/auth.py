"""Bearer-token authentication for the endpoints that touch stored PHI.

Tokens are OAuth 2.0 JWTs from the hospital's authorization server, verified with PyJWT
(signature, ``exp``/``nbf``, issuer, audience) against its JWKS URL or a static public
key. Scopes follow SMART on FHIR, v1 (``patient/Communication.read``) or v2
(``patient/Communication.rs``), so the tokens an EHR already issues work unchanged:

- ``system/…`` — a backend integration; may act on any patient;
- ``user/…`` — a clinician; actions are attributed to the token's ``fhirUser``;
- ``patient/…`` — a patient app; limited to the ``patient`` claim's own records.

A route declares what it needs with ``@requires("Communication", "read")``; the check
leaves the verified ``Principal`` on ``flask.g.principal``. There is no anonymous mode for
these routes: with verification unconfigured they answer 401 and say what to set.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import jwt
from flask import current_app, g, request

from ..errors import Forbidden, Unauthorized

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384"]
_SCOPE = re.compile(r"^(patient|user|system)/([A-Za-z*]+)\.(read|write|\*|[cruds]+)(\?.*)?$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_ACTION = {"read": "r", "search": "s", "create": "c", "update": "u", "delete": "d"}


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[tuple[str, str, str]]  # (context, resource type or *, cruds letters)
    patient: str | None  # the patient a patient/ token is confined to
    fhir_user: str | None  # e.g. Practitioner/123, for user/ tokens

    @property
    def staff(self) -> bool:
        """An integration or a clinician: not confined to one patient's records."""
        return not self.patient and (
            self.may("Communication", "read", "system") or self.may("Communication", "read", "user")
        )

    def may(self, resource: str, action: str, context: str | None = None) -> bool:
        letter = _ACTION[action]
        return any(
            (context is None or ctx == context) and res in (resource, "*") and letter in perms
            for ctx, res, perms in self.scopes
        )


class Verifier:
    """Checks a compact JWT; built once per app from the settings."""

    def __init__(self, issuer: str, audience: str, *, jwks_url=None, public_key=None):
        self.issuer, self.audience = issuer, audience
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self._key = public_key

    def principal(self, token: str) -> Principal:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=30,  # clock skew between us and the authorization server
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the bearer token has expired; get a new one") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized(
                f"the bearer token is not for this service (its aud must include {self.audience!r})"
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized(f"the bearer token was not issued by {self.issuer!r}") from exc
        except jwt.PyJWKClientError as exc:
            raise Unauthorized("the bearer token's signing key is not in the JWKS") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the bearer token is not valid ({type(exc).__name__})") from exc
        return Principal(
            subject=str(claims["sub"]),
            scopes=frozenset(_scopes(claims.get("scope") or claims.get("scp") or "")),
            patient=claims.get("patient"),
            fhir_user=claims.get("fhirUser"),
        )


def requires(resource: str, action: str):
    """Route decorator: a valid token whose scopes allow ``action`` on ``resource``."""

    def wrap(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            g.principal = authenticate()
            if not g.principal.may(resource, action):
                raise Forbidden(f"the token's scopes do not allow {action} on {resource}")
            return view(*args, **kwargs)

        return checked

    return wrap


def authenticate() -> Principal:
    verifier: Verifier | None = current_app.extensions.get("radplain.verifier")
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("this endpoint needs an Authorization: Bearer <token> header")
    if verifier is None:
        raise Unauthorized(
            "token verification is not configured: set RADPLAIN_AUTH_ISSUER, "
            "RADPLAIN_AUTH_AUDIENCE and RADPLAIN_AUTH_JWKS_URL (or RADPLAIN_AUTH_PUBLIC_KEY_FILE)"
        )
    return verifier.principal(token.strip())


def _scopes(value: str | list) -> list[tuple[str, str, str]]:
    out = []
    for scope in value.split() if isinstance(value, str) else value:
        m = _SCOPE.match(scope)
        if m:
            ctx, res, perms = m.group(1), m.group(2), m.group(3)
            out.append((ctx, res, _V1.get(perms, perms)))
    return out
