"""SMART Backend Services client assertions and the token cache."""

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from service.errors import ConfigError, FhirError
from service.fhir.smart_auth import ClientKey, SmartBackendAuth

BASE = "http://ehr.test/fhir/R4"
TOKEN_URL = "http://ehr.test/auth/token"


def _pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def clock():
    return {"now": 1_800_000_000.0}


@pytest.fixture
def auth(rsa_key, clock):
    key = ClientKey.from_pem("radplain", _pem(rsa_key), "key-1", "RS384")
    return SmartBackendAuth(BASE, key, "system/DiagnosticReport.read", clock=lambda: clock["now"])


def _discovery():
    responses.get(f"{BASE}/.well-known/smart-configuration", json={"token_endpoint": TOKEN_URL})


@responses.activate
def test_assertion_claims_follow_the_smart_profile(auth, rsa_key, clock):
    _discovery()
    first, second = auth.assertion(), auth.assertion()
    header = jwt.get_unverified_header(first)
    assert header["alg"] == "RS384" and header["kid"] == "key-1"
    claims = jwt.decode(
        first,
        rsa_key.public_key(),
        algorithms=["RS384"],
        audience=TOKEN_URL,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == claims["sub"] == "radplain"
    assert 0 < claims["exp"] - clock["now"] <= 300
    assert claims["jti"] != jwt.decode(second, options={"verify_signature": False})["jti"]


@responses.activate
def test_token_is_cached_and_refreshed_before_it_expires(auth, clock):
    _discovery()
    responses.post(TOKEN_URL, json={"access_token": "t1", "expires_in": 300})
    responses.post(TOKEN_URL, json={"access_token": "t2", "expires_in": 300})
    assert auth() == "t1" and auth() == "t1"
    clock["now"] += 280  # within the refresh margin
    assert auth() == "t2"
    assert len([c for c in responses.calls if c.request.url == TOKEN_URL]) == 2


@responses.activate
def test_invalidate_forces_a_new_token(auth):
    _discovery()
    responses.post(TOKEN_URL, json={"access_token": "t1", "expires_in": 300})
    responses.post(TOKEN_URL, json={"access_token": "t2", "expires_in": 300})
    assert auth() == "t1"
    auth.invalidate()
    assert auth() == "t2"


@responses.activate
def test_refused_assertion_says_why(auth):
    _discovery()
    responses.post(
        TOKEN_URL, status=401, json={"error": "invalid_client", "error_description": "bad aud"}
    )
    with pytest.raises(FhirError, match="refused the client assertion \\(401\\): bad aud"):
        auth()


def test_es384_needs_a_p384_key_and_rs384_an_rsa_key(rsa_key):
    p256 = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ConfigError, match="P-384"):
        ClientKey.from_pem("c", _pem(p256), "k", "ES384")
    with pytest.raises(ConfigError, match="needs an RSA key"):
        ClientKey.from_pem("c", _pem(ec.generate_private_key(ec.SECP384R1())), "k", "RS384")
    assert ClientKey.from_pem("c", _pem(ec.generate_private_key(ec.SECP384R1())), "k", "ES384")


def test_missing_or_bad_key_is_a_clear_configuration_error():
    with pytest.raises(ConfigError, match="not a readable unencrypted PEM key"):
        ClientKey.from_pem("c", b"not a key", "k", "RS384")
    with pytest.raises(ConfigError, match="kid"):
        ClientKey.from_pem("c", b"x", "", "RS384")
    with pytest.raises(ConfigError, match="RS384, ES384"):
        ClientKey.from_pem("c", b"x", "k", "HS256")
