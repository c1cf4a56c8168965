'use strict';
// Injected failures, for testing a client's retries: "the next N FHIR requests (whose path
// contains `match`) answer 429, 503, ... instead of being served". A faulted request is
// answered before anything else happens to it (no auth check, no repository access).

class FaultInjector {
  constructor() {
    this.reset();
  }

  reset() {
    this.pending = []; // [{status, retryAfter, delayMs, match}], served first to last
    this.served = 0;
  }

  /** POST /__admin/faults {statuses: [429, 503], retry_after?: 1, delay_ms?: 0, match?: "..."} */
  add({ statuses, retry_after: retryAfter, delay_ms: delayMs = 0, match = '' }) {
    if (!Array.isArray(statuses) || !statuses.every((s) => Number.isInteger(s) && s >= 400 && s <= 599)) {
      throw new Error('statuses must be a list of HTTP error statuses (400-599)');
    }
    if (retryAfter !== undefined && !(Number.isInteger(retryAfter) && retryAfter >= 0)) {
      throw new Error('retry_after must be a whole number of seconds');
    }
    if (!(Number.isFinite(delayMs) && delayMs >= 0)) {
      throw new Error('delay_ms must be a non-negative number');
    }
    for (const status of statuses) {
      this.pending.push({ status, retryAfter, delayMs, match: String(match) });
    }
  }

  /**
   * The fault this request gets, if any (it is used up).
   * @param {string} pathAndQuery e.g. "/fhir/R4/DiagnosticReport?status=final"
   */
  take(pathAndQuery) {
    const index = this.pending.findIndex((fault) => pathAndQuery.includes(fault.match));
    if (index < 0) return undefined;
    this.served++;
    return this.pending.splice(index, 1)[0];
  }

  stats() {
    return { served: this.served, pending: this.pending.length };
  }
}

/** The HTTP answer for a fault: an OperationOutcome, with Retry-After when configured. */
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

module.exports = { FaultInjector, faultReply };
