"""One error type per failure kind; each knows its HTTP status and CLI exit code.

Exit codes are a contract (0 ok, 2 bad input, 3 FHIR server or network, 4 configuration)
and are never reused for another meaning.
"""


class RadplainError(Exception):
    """Base class. ``str(err)`` is a one-line message that says what to fix."""

    status = 500
    exit_code = 1
    title = "Internal error"


class BadInput(RadplainError):
    status = 400
    exit_code = 2
    title = "Bad input"


class UnsupportedMediaType(BadInput):
    status = 415
    title = "Unsupported media type"


class PayloadTooLarge(BadInput):
    status = 413
    title = "Payload too large"


class FhirError(RadplainError):
    status = 502
    exit_code = 3
    title = "FHIR server error"


class ConfigError(RadplainError):
    status = 500
    exit_code = 4
    title = "Configuration error"


class FhirNotConfigured(ConfigError):
    """An action that needs the EHR, asked of a service that has no FHIR server configured.
    Over HTTP that is 503 (this deployment cannot do it), not a 500 (nothing broke)."""

    status = 503
    title = "No FHIR server configured"


class MappingError(ConfigError):
    """A file in mappings/ does not match its schema, or clashes with another entry."""

    title = "Mapping data error"


class Unauthorized(RadplainError):
    """No usable bearer token: missing, expired, forged, or meant for another service."""

    status = 401
    exit_code = 2
    title = "Unauthorized"


class Forbidden(RadplainError):
    """A valid token that may not do this (scope, or another patient's record)."""

    status = 403
    exit_code = 2
    title = "Forbidden"


class NotFound(RadplainError):
    status = 404
    exit_code = 2
    title = "Not Found"


class UnreadableDocument(BadInput):
    """A PDF or image that is well formed enough to try but that radplain cannot read within
    its limits: password-protected, no text found, or reading took longer than allowed."""

    status = 422
    title = "Unprocessable document"
