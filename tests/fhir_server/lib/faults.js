'use strict';
// Injected failures, for testing a client's retries. Two ways to ask for them:
//
// - queued: "the next N FHIR requests (whose path contains `match`) answer 429, 503, ...
//   instead of being served";
// - random: "each FHIR request (whose path contains `match`) goes wrong with probability
//   `rate`, in one of these ways", drawn from a seeded generator so a run can be repeated.
//
// The ways a request can go wrong (`kinds`):
//   "429", "500", "503"  answered with that status (429 with Retry-After), not served
//   "timeout"            never answered: the connection is dropped after `hang_ms`
//   "reset"              the connection is dropped at once, nothing served
//   "slow"               served, but only after `slow_ms`
//   "lost_reply"         served (a write is committed), then the connection is dropped
//                        before the answer: the client cannot tell it worked
// A faulted request that is not served gets no auth check and does not touch the repository.

const KINDS = ['429', '500', '503', 'timeout', 'reset', 'slow', 'lost_reply'];

/** mulberry32: a small seeded PRNG, so the same seed injects the same faults. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class FaultInjector {
  constructor() {
    this.reset();
  }

  reset() {
    this.pending = []; // [{status, retryAfter, delayMs, match}], served first to last
    this.random = null; // {rate, kinds, match, hangMs, slowMs, retryAfter, next}
    this.served = 0;
    this.byKind = {}; // "503 POST" -> count
  }

  /**
   * POST /__admin/faults, either
   *   {statuses: [429, 503], retry_after?: 1, delay_ms?: 0, match?: "..."}     (queued)
   *   {rate: 0.2, kinds?: [...], seed?: 1, match?: "", hang_ms?, slow_ms?, retry_after?}
   * (random; rate 0 turns it off).
   */
  add(input) {
    if (input.rate !== undefined) return this.setRandom(input);
    const { statuses, retry_after: retryAfter, delay_ms: delayMs = 0, match = '' } = input;
    if (!Array.isArray(statuses) || !statuses.every((s) => Number.isInteger(s) && s >= 400 && s <= 599)) {
      throw new Error('statuses must be a list of HTTP error statuses (400-599)');
    }
    checkRetryAfter(retryAfter);
    if (!(Number.isFinite(delayMs) && delayMs >= 0)) {
      throw new Error('delay_ms must be a non-negative number');
    }
    for (const status of statuses) {
      this.pending.push({ kind: String(status), status, retryAfter, delayMs, match: String(match) });
    }
  }

  setRandom({ rate, kinds = KINDS, seed = 1, match = '', hang_ms: hangMs = 2000, slow_ms: slowMs = 300, retry_after: retryAfter = 0 }) {
    if (!(Number.isFinite(rate) && rate >= 0 && rate <= 1)) throw new Error('rate must be between 0 and 1');
    if (!Array.isArray(kinds) || !kinds.length || !kinds.every((k) => KINDS.includes(k))) {
      throw new Error(`kinds must be a non-empty list of ${KINDS.join(', ')}`);
    }
    for (const [name, value] of [['hang_ms', hangMs], ['slow_ms', slowMs]]) {
      if (!(Number.isFinite(value) && value >= 0)) throw new Error(`${name} must be a non-negative number`);
    }
    checkRetryAfter(retryAfter);
    this.random = rate > 0
      ? { rate, kinds, match: String(match), hangMs, slowMs, retryAfter, next: seeded(seed) }
      : null;
  }

  /**
   * The fault this request gets, if any: a queued one first (it is used up), else a random
   * draw. {kind, status?, retryAfter?, delayMs}
   * @param {string} method
   * @param {string} pathAndQuery e.g. "/fhir/R4/DiagnosticReport?status=final"
   */
  take(method, pathAndQuery) {
    let fault;
    const index = this.pending.findIndex((f) => pathAndQuery.includes(f.match));
    if (index >= 0) {
      fault = this.pending.splice(index, 1)[0];
    } else if (this.random && pathAndQuery.includes(this.random.match) && this.random.next() < this.random.rate) {
      const r = this.random;
      const kind = r.kinds[Math.floor(r.next() * r.kinds.length)];
      const status = /^\d+$/.test(kind) ? Number(kind) : undefined;
      fault = {
        kind,
        status,
        retryAfter: status === 429 ? r.retryAfter : undefined,
        delayMs: kind === 'timeout' ? r.hangMs : kind === 'slow' ? r.slowMs : 0,
      };
    }
    if (fault) {
      this.served++;
      const key = `${fault.kind} ${method}`;
      this.byKind[key] = (this.byKind[key] ?? 0) + 1;
    }
    return fault;
  }

  stats() {
    return { served: this.served, pending: this.pending.length, by_kind: this.byKind, random: Boolean(this.random) };
  }
}

function checkRetryAfter(retryAfter) {
  if (retryAfter !== undefined && !(Number.isInteger(retryAfter) && retryAfter >= 0)) {
    throw new Error('retry_after must be a whole number of seconds');
  }
}

/** The HTTP answer for a status fault: an OperationOutcome, with Retry-After when configured. */
function faultReply(fault) {
  const code = fault.status === 429 ? 'throttled' : fault.status >= 500 ? 'transient' : 'processing';
  const headers = fault.retryAfter === undefined ? {} : { 'Retry-After': String(fault.retryAfter) };
  return {
    status: fault.status,
    headers,
    body: {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code, diagnostics: `Injected fault: HTTP ${fault.status}` }],
    },
  };
}

module.exports = { FaultInjector, faultReply, KINDS };
