'use strict';
// R4 rest-hook Subscriptions (https://hl7.org/fhir/R4/subscription.html).
//
// Which subscriptions a write triggers is decided while the request is being served, so
// the answer depends only on the order of requests; the HTTP POSTs go out after the
// response, fire-and-forget, with one retry. Deliveries only ever go to loopback
// addresses: this is a test server, and nothing it receives should leave the machine.

const {
  OperationOutcomeError,
  badRequest,
  matchesSearchRequest,
  parseSearchRequest,
} = require('@medplum/core');
const { checkSearchRequest } = require('./search');

const RETRY_DELAY_MS = Number(process.env.SUBSCRIPTION_RETRY_DELAY_MS ?? 250);
const DELIVERY_TIMEOUT_MS = Number(process.env.SUBSCRIPTION_TIMEOUT_MS ?? 5000);
const RECENT_LIMIT = 200;

/** Refuses (400) a rest-hook Subscription that could never be delivered. */
function checkSubscription(subscription) {
  const refuse = (text, expression) => {
    throw new OperationOutcomeError(badRequest(text, expression));
  };
  let criteria;
  try {
    criteria = parseSearchRequest(subscription.criteria);
  } catch (err) {
    refuse(`Subscription.criteria is not a search URL: ${err.message}`, 'Subscription.criteria');
  }
  checkSearchRequest(criteria); // unknown parameters would silently never match
  if (subscription.channel?.type === 'rest-hook') {
    const endpoint = subscription.channel.endpoint;
    if (!endpoint || !URL.canParse(endpoint)) {
      const where = 'Subscription.channel.endpoint';
      refuse('A rest-hook Subscription needs an absolute channel.endpoint URL', where);
    }
    for (const header of subscription.channel.header ?? []) {
      if (!header.includes(':')) {
        const where = 'Subscription.channel.header';
        refuse(`Subscription.channel.header must read "Name: value", got "${header}"`, where);
      }
    }
  }
}

class SubscriptionNotifier {
  constructor() {
    this.reset();
  }

  reset() {
    this.counts = { planned: 0, delivered: 0, retried: 0, failed: 0, skipped_not_loopback: 0 };
    this.recent = [];
  }

  /**
   * The notifications the given writes trigger: one per (active rest-hook subscription,
   * matching resource). Call while serving the request that wrote them.
   */
  async plan(repo, writes) {
    if (!writes.length) return [];
    const subscriptions = await repo.searchResources({
      resourceType: 'Subscription',
      filters: [{ code: 'status', operator: 'eq', value: 'active' }],
      count: 1000,
    });
    const plans = [];
    for (const resource of writes) {
      for (const subscription of subscriptions) {
        if (subscription.channel?.type !== 'rest-hook') continue;
        if (matchesSearchRequest(resource, parseSearchRequest(subscription.criteria))) {
          plans.push({ subscription, resource });
        }
      }
    }
    this.counts.planned += plans.length;
    return plans;
  }

  /** Sends planned notifications in order, without making anyone wait for them. */
  dispatch(plans) {
    if (!plans.length) return;
    (async () => {
      for (const plan of plans) {
        await this.deliver(plan);
      }
    })().catch((err) => console.error('subscription delivery crashed:', err));
  }

  async deliver({ subscription, resource }) {
    const { endpoint, payload, header } = subscription.channel;
    const record = {
      subscription: `Subscription/${subscription.id}`,
      resource: `${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`,
      endpoint,
      attempts: 0,
      outcome: undefined,
    };
    this.remember(record);
    if (!isLoopback(endpoint)) {
      this.counts.skipped_not_loopback++;
      record.outcome = 'skipped: endpoint is not a loopback address';
      return;
    }

    // R4: with channel.payload the body is the resource in that MIME type; without it the
    // notification is an empty POST and the receiver reads the resource itself.
    const headers = parseHeaders(header);
    let body;
    if (payload) {
      headers['content-type'] = payload;
      body = JSON.stringify(resource);
    }

    for (let attempt = 1; attempt <= 2; attempt++) {
      record.attempts = attempt;
      record.outcome = await post(endpoint, headers, body);
      if (record.outcome === 'delivered') {
        this.counts.delivered++;
        return;
      }
      if (attempt === 1) {
        this.counts.retried++; // one retry, after a short pause
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      }
    }
    this.counts.failed++;
  }

  remember(record) {
    this.recent.push(record);
    if (this.recent.length > RECENT_LIMIT) this.recent.shift();
  }

  stats() {
    return { ...this.counts, recent: this.recent };
  }
}

/** One POST: 'delivered' for a 2xx answer, otherwise what went wrong. */
async function post(endpoint, headers, body) {
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await response.arrayBuffer(); // drain, so the connection is released
    return response.ok ? 'delivered' : `HTTP ${response.status}`;
  } catch (err) {
    return `error: ${err.cause?.code ?? err.name}`;
  }
}

/** ["Authorization: Bearer x"] -> {authorization: "Bearer x"} */
function parseHeaders(lines = []) {
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function isLoopback(endpoint) {
  const { hostname } = new URL(endpoint);
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

module.exports = { SubscriptionNotifier, checkSubscription };
