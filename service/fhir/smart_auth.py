"""SMART Backend Services: a signed JWT client assertion in exchange for an access token.

The token endpoint is discovered from ``<base>/.well-known/smart-configuration``. The
assertion is signed RS384 or ES384 with the configured private key, carries the key's
``kid``, ``iss`` = ``sub`` = client id, ``aud`` = the token URL, a unique ``jti`` and an
expiry at most five minutes ahead (the SMART spec's limit). Tokens are cached until
shortly before they expire, and dropped on demand when the FHIR server says 401.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from ..errors import ConfigError, FhirError

ALGORITHMS = ("RS384", "ES384")
ASSERTION_LIFETIME = 300  # seconds: the SMART Backend Services maximum
REFRESH_MARGIN = 30  # seconds before expiry a cached token is treated as expired


@dataclass(frozen=True)
class ClientKey:
    client_id: str
    private_key: object  # a cryptography private key
    kid: str
    algorithm: str

    @classmethod
    def from_pem(cls, client_id: str, pem: bytes, kid: str, algorithm: str) -> ClientKey:
        if algorithm not in ALGORITHMS:
            raise ConfigError(
                f"SMART signing algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}"
            )
        if not kid:
            raise ConfigError(
                "SMART key id (kid) is empty: set it to the kid of the public key "
                "registered with the EHR (from your JWKS)"
            )
        try:
            key = load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"SMART private key is not a readable unencrypted PEM key: {exc}"
            ) from exc
        wanted = rsa.RSAPrivateKey if algorithm == "RS384" else ec.EllipticCurvePrivateKey
        if not isinstance(key, wanted):
            raise ConfigError(
                f"SMART private key does not fit {algorithm}: "
                f"{algorithm} needs an {'RSA' if algorithm == 'RS384' else 'EC P-384'} key"
            )
        if algorithm == "ES384" and key.curve.name != "secp384r1":
            raise ConfigError(f"ES384 needs a P-384 key; this one is on {key.curve.name}")
        return cls(client_id, key, kid, algorithm)


class SmartBackendAuth:
    def __init__(
        self,
        fhir_base: str,
        key: ClientKey,
        scopes: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ):
        self.fhir_base = fhir_base.rstrip("/")
        self.key = key
        self.scopes = scopes
        self.session = session or requests.Session()
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._token_url: str | None = None

    def token_url(self) -> str:
        if self._token_url is None:
            url = f"{self.fhir_base}/.well-known/smart-configuration"
            try:
                response = self.session.get(
                    url, headers={"Accept": "application/json"}, timeout=self.timeout
                )
                response.raise_for_status()
                self._token_url = response.json()["token_endpoint"]
            except (requests.RequestException, ValueError, KeyError) as exc:
                raise FhirError(
                    f"cannot discover the SMART token endpoint from {url}: {exc}"
                ) from exc
        return self._token_url

    def assertion(self) -> str:
        now = int(self._clock())
        token_url = self.token_url()
        claims = {
            "iss": self.key.client_id,
            "sub": self.key.client_id,
            "aud": token_url,
            "exp": now + ASSERTION_LIFETIME,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims,
            self.key.private_key,
            algorithm=self.key.algorithm,
            headers={"kid": self.key.kid, "typ": "JWT"},
        )

    def __call__(self) -> str:
        """A valid access token, from the cache or freshly requested."""
        with self._lock:
            if self._token and self._clock() < self._expires_at - REFRESH_MARGIN:
                return self._token
            data = {
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": self.assertion(),
                "scope": self.scopes,
            }
            try:
                response = self.session.post(self.token_url(), data=data, timeout=self.timeout)
            except requests.RequestException as exc:
                raise FhirError(f"SMART token request failed: {type(exc).__name__}") from exc
            if response.status_code != 200:
                try:
                    detail = response.json().get("error_description") or response.json().get(
                        "error"
                    )
                except ValueError:
                    detail = response.reason
                raise FhirError(
                    f"SMART token endpoint refused the client assertion "
                    f"({response.status_code}): {detail}"
                )
            body = response.json()
            self._token = body["access_token"]
            self._expires_at = self._clock() + float(body.get("expires_in", 300))
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None
