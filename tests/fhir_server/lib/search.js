'use strict';
// Search rules shared by the repository (what to match, which page) and the HTTP layer
// (Bundle links). Medplum's MemoryRepository silently matches nothing for a parameter it
// does not know and ignores _include, _elements and friends; a test double that quietly
// returns the wrong answer hides client bugs, so those requests are refused with 400.

const { OperationOutcomeError, badRequest, globalSchema } = require('@medplum/core');

const DEFAULT_COUNT = 20; // what Medplum's and HAPI's servers page by when _count is absent
const MAX_COUNT = 1000;

// Parameter types Medplum's in-memory matcher implements (number, quantity, composite and
// special parameters always fail to match there).
const MATCHABLE_TYPES = new Set(['token', 'reference', 'string', 'uri', 'date']);

/** Throws 400 for anything the in-memory search would get silently wrong. */
function checkSearchRequest(searchRequest) {
  const { resourceType } = searchRequest;
  if (!globalSchema.types[resourceType]?.searchParams) {
    throw new OperationOutcomeError(badRequest(`Unknown resource type: ${resourceType}`));
  }
  const unsupported = [
    ['include', '_include'],
    ['revInclude', '_revinclude'],
    ['fields', '_elements'],
    ['summary', '_summary (only _summary=count is supported)'],
    ['cursor', '_cursor'],
    ['types', '_type'],
  ].filter(([field]) => searchRequest[field] !== undefined);
  if (unsupported.length) {
    throw new OperationOutcomeError(
      badRequest(`Not supported by this test server: ${unsupported.map(([, name]) => name).join(', ')}`)
    );
  }
  for (const filter of searchRequest.filters ?? []) {
    const param = searchParameter(resourceType, filter.code);
    if (!param || !MATCHABLE_TYPES.has(param.type)) {
      throw new OperationOutcomeError(
        badRequest(`Unknown or unsupported search parameter for ${resourceType}: ${filter.code}`, filter.code)
      );
    }
  }
  for (const rule of searchRequest.sortRules ?? []) {
    if (!searchParameter(resourceType, rule.code)) {
      throw new OperationOutcomeError(
        badRequest(`Unknown _sort parameter for ${resourceType}: ${rule.code}`)
      );
    }
  }
  pageOf(searchRequest); // throws on a bad _count or _offset
}

function searchParameter(resourceType, code) {
  return globalSchema.types[resourceType]?.searchParams?.[code];
}

/** The page a search request asks for, with the server's default and maximum page size. */
function pageOf(searchRequest) {
  const count = searchRequest.count ?? DEFAULT_COUNT;
  const offset = searchRequest.offset ?? 0;
  if (!Number.isInteger(count) || count < 0) {
    throw new OperationOutcomeError(badRequest('_count must be a non-negative integer'));
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new OperationOutcomeError(badRequest('_offset must be a non-negative integer'));
  }
  return { count: Math.min(count, MAX_COUNT), offset };
}

/**
 * Bundle.link for one page of a search: `self` as requested, and `next`/`previous` as
 * absolute URLs that differ only in `_offset` (and carry the effective `_count`).
 * @param {URL} selfUrl the search URL as a GET, absolute
 */
function pageLinks(selfUrl, { count, offset }, total) {
  const links = [{ relation: 'self', url: selfUrl.href }];
  const withOffset = (value) => {
    const url = new URL(selfUrl.href);
    url.searchParams.set('_count', String(count));
    url.searchParams.set('_offset', String(value));
    return url.href;
  };
  if (count > 0 && offset + count < total) {
    links.push({ relation: 'next', url: withOffset(offset + count) });
  }
  if (count > 0 && offset > 0) {
    links.push({ relation: 'previous', url: withOffset(Math.max(0, offset - count)) });
  }
  return links;
}

module.exports = { checkSearchRequest, pageOf, pageLinks, DEFAULT_COUNT, MAX_COUNT };
