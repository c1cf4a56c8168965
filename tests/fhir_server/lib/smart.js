'use strict';
// SMART Backend Services authorization (client_credentials with a private_key_jwt client
// assertion): https://hl7.org/fhir/smart-app-launch/backend-services.html
//
// Off until a client is registered. Checks the assertion as strictly as the spec asks, so
// that a client that passes here will pass at a real EHR: RS384/ES384 only, key chosen by
// `kid` from the client's registered JWKS, iss == sub == client_id, aud == this token URL,
// exp in the future but at most five minutes ahead, and each jti used once.
// Access tokens are opaque random strings remembered in memory. Scopes are echoed back,
// not enforced.

const crypto = require('node:crypto');

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const MAX_ASSERTION_LIFETIME_S = 300;
const ALGORITHMS = {
  // alg -> which JWKs may verify it, and how node:crypto reads the signature
  RS384: { fits: (jwk) => jwk.kty === 'RSA', verifyKey: (key) => key },
  // JWS carries ECDSA signatures as raw r||s, not DER
  ES384: {
    fits: (jwk) => jwk.kty === 'EC' && jwk.crv === 'P-384',
    verifyKey: (key) => ({ key, dsaEncoding: 'ieee-p1363' }),
  },
};

/** A token-endpoint refusal: an OAuth error code, a description, an HTTP status. */
class OAuthError extends Error {
  constructor(error, description, status = 400) {
    super(description);
    this.error = error;
    this.status = status;
  }
}

const invalidClient = (description) => new OAuthError('invalid_client', description, 401);

class SmartAuth {
  constructor({ defaultTtlSeconds = 300 } = {}) {
    this.defaultTtlSeconds = defaultTtlSeconds;
    this.reset();
  }

  reset() {
    this.clients = new Map(); // client_id -> [{jwk, key: KeyObject}]
    this.usedJtis = new Set();
    this.tokens = new Map(); // access token -> {clientId, scope, expiresAt (ms)}
    this.ttlSeconds = this.defaultTtlSeconds;
  }

  get enabled() {
    return this.clients.size > 0;
  }

  /** Registers (or replaces) a client's public keys; from then on the FHIR API needs tokens. */
  registerClient(clientId, jwks) {
    if (typeof clientId !== 'string' || !clientId) throw new Error('client_id must be a non-empty string');
    if (!Array.isArray(jwks?.keys) || !jwks.keys.length) throw new Error('jwks must be {"keys": [...]}');
    const keys = jwks.keys.map((jwk) => {
      if (!jwk.kid) throw new Error('every JWK needs a kid (SMART selects keys by kid)');
      return { jwk, key: crypto.createPublicKey({ key: jwk, format: 'jwk' }) };
    });
    this.clients.set(clientId, keys);
  }

  setTokenTtl(seconds) {
    if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('seconds must be a positive number');
    this.ttlSeconds = seconds;
  }

  /** Every token issued so far stops working now. */
  expireTokens() {
    for (const token of this.tokens.values()) token.expiresAt = 0;
  }

  /**
   * POST /auth/token.
   * @param {URLSearchParams} form the form-encoded request body
   * @param {string} tokenUrl this endpoint's absolute URL, which the assertion's aud must name
   * @returns {{status: number, body: object}}
   */
  tokenRequest(form, tokenUrl) {
    try {
      if (form.get('grant_type') !== 'client_credentials') {
        throw new OAuthError('unsupported_grant_type', 'grant_type must be client_credentials');
      }
      if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
        throw new OAuthError('invalid_request', `client_assertion_type must be ${ASSERTION_TYPE}`);
      }
      const scope = form.get('scope');
      if (!scope) throw new OAuthError('invalid_scope', 'scope is required');
      const clientId = this.verifyAssertion(form.get('client_assertion') ?? '', tokenUrl);
      return { status: 200, body: this.issueToken(clientId, scope) };
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      return { status: err.status, body: { error: err.error, error_description: err.message } };
    }
  }

  /** Checks a client assertion; returns the client id or throws OAuthError. */
  verifyAssertion(assertion, tokenUrl) {
    const { header, claims, signedPart, signature } = decodeJwt(assertion);

    const algorithm = ALGORITHMS[header.alg];
    if (!algorithm) throw invalidClient(`alg must be RS384 or ES384, got ${JSON.stringify(header.alg)}`);
    if (!header.kid) throw invalidClient('the assertion header has no kid');
    if (typeof claims.iss !== 'string' || claims.iss !== claims.sub) {
      throw invalidClient('iss and sub must both be the client_id');
    }
    const keys = this.clients.get(claims.iss);
    if (!keys) throw invalidClient(`unknown client_id ${JSON.stringify(claims.iss)}`);
    const match = keys.find(({ jwk }) => jwk.kid === header.kid);
    if (!match) {
      throw invalidClient(`no key with kid ${JSON.stringify(header.kid)} is registered for this client`);
    }
    if (!algorithm.fits(match.jwk) || (match.jwk.alg && match.jwk.alg !== header.alg)) {
      throw invalidClient(`key ${header.kid} cannot verify ${header.alg}`);
    }
    if (!crypto.verify('sha384', signedPart, algorithm.verifyKey(match.key), signature)) {
      throw invalidClient('bad signature');
    }

    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(tokenUrl)) {
      throw invalidClient(`aud must be the token URL ${tokenUrl}, got ${JSON.stringify(claims.aud)}`);
    }
    const now = Date.now() / 1000;
    if (typeof claims.exp !== 'number') throw invalidClient('exp is missing');
    if (claims.exp <= now) throw invalidClient('the assertion has expired (exp is in the past)');
    if (claims.exp > now + MAX_ASSERTION_LIFETIME_S) {
      throw invalidClient('exp is more than five minutes in the future');
    }
    if (typeof claims.nbf === 'number' && claims.nbf > now) throw invalidClient('nbf is in the future');
    if (typeof claims.jti !== 'string' || !claims.jti) throw invalidClient('jti is missing');
    // Remembered only once everything else checks out, so a forged assertion cannot burn
    // a jti that a real client will use.
    const jtiKey = `${claims.iss} ${claims.jti}`;
    if (this.usedJtis.has(jtiKey)) throw invalidClient('jti has already been used (replayed assertion)');
    this.usedJtis.add(jtiKey);
    return claims.iss;
  }

  issueToken(clientId, scope) {
    const accessToken = crypto.randomBytes(32).toString('base64url');
    this.tokens.set(accessToken, { clientId, scope, expiresAt: Date.now() + this.ttlSeconds * 1000 });
    return { access_token: accessToken, token_type: 'bearer', expires_in: this.ttlSeconds, scope };
  }

  /** undefined when the Authorization header carries a live token, else what is wrong. */
  checkBearer(authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return 'missing bearer token (Authorization: Bearer <token>)';
    const token = this.tokens.get(match[1]);
    if (!token) return 'unknown access token';
    if (Date.now() >= token.expiresAt) return 'access token expired';
    return undefined;
  }
}

function decodeJwt(jwt) {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw invalidClient('client_assertion is not a JWS compact serialization');
  const json = (part) => {
    try {
      const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
      if (value && typeof value === 'object' && !Array.isArray(value)) return value;
    } catch {
      // reported below
    }
    throw invalidClient('client_assertion header or claims are not base64url-encoded JSON objects');
  };
  return {
    header: json(parts[0]),
    claims: json(parts[1]),
    signedPart: Buffer.from(`${parts[0]}.${parts[1]}`),
    signature: Buffer.from(parts[2], 'base64url'),
  };
}

/** GET <base>/.well-known/smart-configuration */
function smartConfiguration(origin) {
  return {
    token_endpoint: `${origin}/auth/token`,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: Object.keys(ALGORITHMS),
    scopes_supported: ['system/*.read', 'system/*.write', 'system/*.*'],
    capabilities: ['client-confidential-asymmetric'],
  };
}

module.exports = { SmartAuth, smartConfiguration };
