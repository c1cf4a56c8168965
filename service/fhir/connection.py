"""Build the FHIR client the settings describe: base, timeouts, retries, SMART auth."""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..errors import ConfigError, FhirNotConfigured
from .client import FhirClient, RetryPolicy
from .smart_auth import ClientKey, SmartBackendAuth


def connect(settings: Settings, base: str | None = None) -> FhirClient:
    base = base or settings.fhir_base
    if not base:
        raise FhirNotConfigured(
            "no FHIR server configured: set RADPLAIN_FHIR_BASE (or pass --fhir-base URL)"
        )
    auth = None
    if settings.smart_enabled:
        try:
            pem = Path(settings.smart_key_file).read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"RADPLAIN_SMART_KEY_FILE={settings.smart_key_file}: cannot read it "
                f"({exc.strerror})"
            ) from exc
        key = ClientKey.from_pem(
            settings.smart_client_id, pem, settings.smart_kid, settings.smart_alg
        )
        auth = SmartBackendAuth(base, key, settings.smart_scopes, timeout=settings.fhir_timeout)
    return FhirClient(
        base,
        auth=auth,
        on_unauthorized=auth.invalidate if auth else None,
        timeout=settings.fhir_timeout,
        retry=RetryPolicy(attempts=settings.fhir_retries),
    )
