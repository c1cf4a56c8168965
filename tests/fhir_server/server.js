#!/usr/bin/env node
'use strict';
// A real FHIR R4 server for radplain's integration tests: Medplum's FhirRouter (the REST
// semantics) over an in-memory repository, behind node:http, plus the parts of an EHR's
// behaviour radplain has to cope with: paging, conditional create, optimistic locking,
// transactions, rest-hook Subscriptions, SMART Backend Services tokens, and injected
// failures. See README.md for what it does and deliberately does not do.
//
//   PORT=0 node server.js    ->  prints "LISTENING <port>" once it is ready
//
// Requests are served strictly one at a time (SerialQueue), so a test that fires requests
// concurrently knows the server saw them in some serial order, as a database would.

const http = require('node:http');
const { FhirRouter } = require('@medplum/fhir-router');
const { getStatus, parseSearchRequest } = require('@medplum/core');
const { loadDefinitions } = require('./lib/definitions');
const { createValidator } = require('./lib/validation');
const { TestRepository } = require('./lib/repository');
const { pageOf, pageLinks } = require('./lib/search');
const { SubscriptionNotifier, checkSubscription } = require('./lib/subscriptions');
const { SmartAuth, smartConfiguration } = require('./lib/smart');
const { FaultInjector, faultReply } = require('./lib/faults');

const BASE_PATH = '/fhir/R4';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const PLAIN_JSON = 'application/json; charset=utf-8';
const MAX_BODY_BYTES = 50 * 1024 * 1024;
const RECENT_REQUESTS = 200;

// ---------------------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------------------

function createServer({ tokenTtlSeconds = 300, logRequests = false } = {}) {
  const validateResource = createValidator(loadDefinitions());
  const validate = (resource) => {
    validateResource(resource);
    if (resource.resourceType === 'Subscription') checkSubscription(resource);
  };
  const ctx = {
    repo: new TestRepository({ validate }),
    router: new FhirRouter(),
    smart: new SmartAuth({ defaultTtlSeconds: tokenTtlSeconds }),
    faults: new FaultInjector(),
    notifier: new SubscriptionNotifier(),
    stats: new RequestStats(),
    queue: new SerialQueue(),
    logRequests,
  };
  return http.createServer((req, res) => {
    handle(ctx, req, res).catch((err) => {
      console.error(err);
      if (res.headersSent) return res.destroy();
      send(res, { status: err.status ?? 500, body: outcome('exception', err.message) }, FHIR_JSON);
    });
  });
}

/** Runs tasks one after another, in arrival order, whatever each one awaits inside. */
class SerialQueue {
  constructor() {
    this.tail = Promise.resolve();
  }

  run(task) {
    const result = this.tail.then(task);
    this.tail = result.catch(() => {}); // one failed task must not stop the queue
    return result;
  }
}

class RequestStats {
  constructor() {
    this.reset();
  }

  reset() {
    this.fhir = { total: 0, by_method: {}, by_status: {}, by_method_and_status: {}, recent: [] };
    this.token = { total: 0, by_status: {} };
  }

  countFhir(method, url, status) {
    const bump = (counts, key) => (counts[key] = (counts[key] ?? 0) + 1);
    this.fhir.total++;
    bump(this.fhir.by_method, method);
    bump(this.fhir.by_status, String(status));
    bump(this.fhir.by_method_and_status, `${method} ${status}`);
    this.fhir.recent.push({ method, url, status });
    if (this.fhir.recent.length > RECENT_REQUESTS) this.fhir.recent.shift();
  }

  countToken(status) {
    this.token.total++;
    this.token.by_status[status] = (this.token.by_status[status] ?? 0) + 1;
  }
}

// ---------------------------------------------------------------------------------------
// HTTP dispatch
// ---------------------------------------------------------------------------------------

async function handle(ctx, req, res) {
  // Links and the token URL are built from the Host the client used, so a client that
  // says "localhost" gets "localhost" URLs back.
  const url = new URL(req.url, `http://${req.headers.host || '127.0.0.1'}`);
  const body = await readBody(req); // outside the queue: a slow upload holds up no one

  if (url.pathname === BASE_PATH || url.pathname.startsWith(`${BASE_PATH}/`)) {
    return serveFhir(ctx, req, res, url, body);
  }
  if (url.pathname === '/auth/token') {
    return send(res, await ctx.queue.run(() => tokenEndpoint(ctx, req, url, body)), PLAIN_JSON);
  }
  if (url.pathname.startsWith('/__admin/')) {
    return send(res, await ctx.queue.run(() => admin(ctx, req, url, body)), PLAIN_JSON);
  }
  return send(res, { status: 404, body: { error: `nothing at ${url.pathname}` } }, PLAIN_JSON);
}

async function serveFhir(ctx, req, res, url, body) {
  let reply;
  let notifications = [];
  const fault = ctx.faults.take(req.method, url.pathname + url.search);
  if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
  if (fault?.kind === 'timeout' || fault?.kind === 'reset') {
    ctx.stats.countFhir(req.method, url.pathname + url.search, fault.kind);
    return res.socket?.destroy(); // no answer at all; nothing was served
  }
  if (fault?.status) {
    reply = faultReply(fault);
  } else {
    ({ reply, notifications = [] } = await ctx.queue.run(() => fhirRequest(ctx, req, url, body)));
  }
  const lost = fault?.kind === 'lost_reply';
  ctx.stats.countFhir(req.method, url.pathname + url.search, lost ? `${reply.status} lost` : reply.status);
  if (ctx.logRequests) console.error(`${req.method} ${url.pathname}${url.search} -> ${reply.status}`);
  if (lost) res.socket?.destroy(); // served and committed, but the answer never arrives
  else send(res, reply, FHIR_JSON);
  ctx.notifier.dispatch(notifications); // after the response: fire-and-forget
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Writes a reply {status, headers?, body?, contentType?}; body is serialized as JSON. */
function send(res, { status, headers = {}, body, contentType }, defaultContentType) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': contentType ?? defaultContentType,
    'Content-Length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

function outcome(code, diagnostics) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

// ---------------------------------------------------------------------------------------
// FHIR API (runs inside the queue)
// ---------------------------------------------------------------------------------------

/** @returns {Promise<{reply: object, notifications?: object[]}>} */
async function fhirRequest(ctx, req, url, rawBody) {
  const path = url.pathname.slice(BASE_PATH.length).replace(/^\/+/, ''); // "" is the base
  if (req.method === 'GET' && path === '.well-known/smart-configuration') {
    return { reply: { status: 200, body: smartConfiguration(url.origin), contentType: PLAIN_JSON } };
  }
  if (req.method === 'GET' && path === 'metadata') {
    return { reply: { status: 200, body: capabilityStatement(url.origin, ctx.smart.enabled) } };
  }
  if (ctx.smart.enabled) {
    const problem = ctx.smart.checkBearer(req.headers.authorization);
    if (problem) return { reply: unauthorized(problem) };
  }

  const parsed = parseFhirBody(req, path, rawBody);
  if (parsed.reply) return { reply: parsed.reply };

  const [result, resource] = await ctx.router.handleRequest(
    {
      method: req.method,
      url: path + url.search,
      pathname: '',
      params: {},
      query: {},
      body: parsed.body,
      headers: req.headers, // If-None-Exist, If-Match
      config: { transactions: true }, // without it FhirRouter treats a transaction as a batch
    },
    ctx.repo
  );
  // Decided now, in request order; sent after the response.
  const notifications = await ctx.notifier.plan(ctx.repo, ctx.repo.drainWrites());
  return { reply: fhirReply(result, resource, { url, path, body: parsed.body }), notifications };
}

/** The request body as FhirRouter wants it: a resource, or search parameters for _search. */
function parseFhirBody(req, path, raw) {
  if (!['POST', 'PUT', 'PATCH'].includes(req.method)) return { body: undefined };
  const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (path.endsWith('/_search')) {
    const params = {};
    for (const [key, value] of new URLSearchParams(raw.toString('utf8'))) {
      params[key] = key in params ? [].concat(params[key], value) : value;
    }
    return { body: params };
  }
  const fail = (status, code, text) => ({ reply: { status, body: outcome(code, text) } });
  if (contentType && !contentType.includes('json')) {
    return fail(415, 'not-supported', `Content-Type must be application/fhir+json, got ${contentType}`);
  }
  if (!raw.length) return fail(400, 'required', 'The request needs a JSON body');
  try {
    return { body: JSON.parse(raw.toString('utf8')) };
  } catch (err) {
    return fail(400, 'structure', `The body is not valid JSON: ${err.message}`);
  }
}

function unauthorized(problem) {
  return {
    status: 401,
    headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${problem}"` },
    body: outcome('login', problem),
  };
}

/** Turns FhirRouter's [outcome, resource] into an HTTP reply with FHIR's headers. */
function fhirReply(result, resource, request) {
  const status = getStatus(result);
  if (!resource) return { status, body: result }; // errors, and deletes
  if (resource.resourceType === 'Bundle' && !resource.id) {
    return { status, body: decorateBundle(resource, request) }; // one the server made
  }
  return { status, headers: versionHeaders(resource, status, request.url.origin), body: resource };
}

function versionHeaders(resource, status, origin) {
  const { versionId, lastUpdated } = resource.meta ?? {};
  const headers = {};
  if (versionId) headers.ETag = `W/"${versionId}"`;
  if (lastUpdated) headers['Last-Modified'] = new Date(lastUpdated).toUTCString();
  if (status === 201 && versionId) {
    headers.Location = `${resourceUrl(origin, resource)}/_history/${versionId}`;
  }
  return headers;
}

function resourceUrl(origin, resource) {
  return `${origin}${BASE_PATH}/${resource.resourceType}/${resource.id}`;
}

function decorateBundle(bundle, request) {
  switch (bundle.type) {
    case 'searchset':
      return searchsetBundle(bundle, request);
    case 'transaction-response':
    case 'batch-response':
      return { ...bundle, entry: bundle.entry.map((entry) => responseEntry(entry, request.url.origin)) };
    case 'history':
      return {
        ...bundle,
        entry: bundle.entry.map(({ resource }) => ({
          fullUrl: resourceUrl(request.url.origin, resource),
          resource,
        })),
      };
    default:
      return bundle;
  }
}

/** MemoryRepository returns bare entries and a total; add paging links and fullUrls. */
function searchsetBundle(bundle, { url, path, body }) {
  const selfUrl = new URL(url.href);
  if (path.endsWith('/_search')) {
    // POST _search: link to the equivalent GET search
    selfUrl.pathname = selfUrl.pathname.replace(/\/_search$/, '');
    for (const [key, values] of Object.entries(body)) {
      for (const value of [].concat(values)) selfUrl.searchParams.append(key, value);
    }
  }
  const page = pageOf(parseSearchRequest(selfUrl));
  const entry = (bundle.entry ?? []).map(({ resource }) => ({
    fullUrl: resourceUrl(url.origin, resource),
    resource,
    search: { mode: 'match' },
  }));
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: bundle.total,
    link: pageLinks(selfUrl, page, bundle.total),
    ...(entry.length ? { entry } : {}),
  };
}

/** FhirRouter's entry.response has status and Type/id; add version-specific location and etag. */
function responseEntry(entry, origin) {
  const resource = entry.resource;
  const versionId = resource?.meta?.versionId;
  if (!versionId) return entry;
  return {
    fullUrl: resourceUrl(origin, resource),
    ...entry,
    response: {
      ...entry.response,
      location: `${resource.resourceType}/${resource.id}/_history/${versionId}`,
      etag: `W/"${versionId}"`,
      lastModified: resource.meta.lastUpdated,
    },
  };
}

function capabilityStatement(origin, authEnabled) {
  const smartService = {
    system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
    code: 'SMART-on-FHIR',
  };
  const security = authEnabled
    ? {
        service: [{ coding: [smartService] }],
        extension: [
          {
            url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
            extension: [{ url: 'token', valueUri: `${origin}/auth/token` }],
          },
        ],
      }
    : undefined;
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'radplain FHIR test server (Medplum FhirRouter + MemoryRepository)' },
    implementation: {
      description: 'In-memory FHIR R4 server for integration tests',
      url: `${origin}${BASE_PATH}`,
    },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json'],
    rest: [{ mode: 'server', security, interaction: [{ code: 'transaction' }, { code: 'batch' }] }],
  };
}

// ---------------------------------------------------------------------------------------
// SMART token endpoint and test-only admin endpoints (run inside the queue)
// ---------------------------------------------------------------------------------------

function tokenEndpoint(ctx, req, url, body) {
  let reply;
  const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (req.method !== 'POST') {
    reply = { status: 405, body: { error: 'invalid_request', error_description: 'use POST' } };
  } else if (contentType !== 'application/x-www-form-urlencoded') {
    reply = {
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'the body must be application/x-www-form-urlencoded',
      },
    };
  } else {
    const form = new URLSearchParams(body.toString('utf8'));
    reply = ctx.smart.tokenRequest(form, `${url.origin}/auth/token`);
  }
  ctx.stats.countToken(reply.status);
  return { ...reply, headers: { 'Cache-Control': 'no-store' } };
}

function admin(ctx, req, url, body) {
  let input;
  try {
    input = body.length ? JSON.parse(body.toString('utf8')) : {};
  } catch (err) {
    return { status: 400, body: { error: `body is not JSON: ${err.message}` } };
  }
  const ok = (result) => ({ status: 200, body: result });
  try {
    switch (`${req.method} ${url.pathname}`) {
      case 'POST /__admin/reset':
        resetAll(ctx);
        return ok({ reset: true });
      case 'POST /__admin/clients':
        ctx.smart.registerClient(input.client_id, input.jwks);
        return ok({ registered: input.client_id, auth_enabled: true });
      case 'POST /__admin/token-ttl':
        ctx.smart.setTokenTtl(input.seconds);
        return ok({ seconds: input.seconds });
      case 'POST /__admin/expire-tokens':
        ctx.smart.expireTokens();
        return ok({ expired: true });
      case 'POST /__admin/faults':
        ctx.faults.add(input);
        return ok(ctx.faults.stats());
      case 'GET /__admin/stats':
        return ok({
          requests: ctx.stats.fhir,
          token_requests: ctx.stats.token,
          faults: ctx.faults.stats(),
          subscriptions: ctx.notifier.stats(),
          auth_enabled: ctx.smart.enabled,
        });
      default:
        return { status: 404, body: { error: `no admin endpoint ${req.method} ${url.pathname}` } };
    }
  } catch (err) {
    return { status: 400, body: { error: err.message } };
  }
}

/** Back to a freshly started server: no resources, no clients (auth off), no faults. */
function resetAll(ctx) {
  ctx.repo.reset();
  ctx.smart.reset();
  ctx.faults.reset();
  ctx.notifier.reset();
  ctx.stats.reset();
}

// ---------------------------------------------------------------------------------------

function main() {
  const server = createServer({
    tokenTtlSeconds: Number(process.env.TOKEN_TTL_SECONDS ?? 300),
    logRequests: process.env.LOG_REQUESTS === '1',
  });
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    process.stdout.write(`LISTENING ${server.address().port}\n`);
  });
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (process.env.EXIT_ON_STDIN_CLOSE === '1') {
    // The pytest fixture holds our stdin open; if pytest dies without cleaning up, the
    // pipe closes and the server goes too instead of lingering on its port.
    process.stdin.on('end', stop);
    process.stdin.resume();
  }
}

if (require.main === module) {
  main();
}

module.exports = { createServer };
