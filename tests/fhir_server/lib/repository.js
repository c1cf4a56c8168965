'use strict';
// TestRepository: Medplum's MemoryRepository, plus what a FHIR server needs and the
// in-memory repository (written for Medplum's unit tests) does not do:
//
//   - validate every resource it stores (MemoryRepository stores anything);
//   - assign server-side ids on create (MemoryRepository keeps a client-supplied id);
//   - version ids 1, 2, 3... per resource (MemoryRepository uses random UUIDs), so ETags
//     read W/"1", W/"2" as on most FHIR servers;
//   - strictly increasing meta.lastUpdated, so `_lastUpdated=gt<last seen>` polling never
//     skips or repeats a resource written in the same millisecond;
//   - all-or-nothing transactions (MemoryRepository.withTransaction just runs the callback);
//   - history without side effects (MemoryRepository.readHistory reverses its stored
//     version list in place, so every other call returns the versions in the wrong order);
//   - search that refuses what it cannot answer, and pages by default (see search.js);
//   - a record of what each request wrote, for Subscription notifications.
//
// Rollback snapshots MemoryRepository's two maps (`resources`, `history`). They are
// TypeScript-private, i.e. ordinary properties at run time; the constructor checks they are
// still there so a Medplum upgrade that renames them fails loudly instead of silently.

const { MemoryRepository } = require('@medplum/fhir-router');
const {
  OperationOutcomeError,
  badRequest,
  deepClone,
  notFound,
  preconditionFailed,
} = require('@medplum/core');
const { checkSearchRequest, pageOf } = require('./search');

class TestRepository extends MemoryRepository {
  /** @param {{validate: (resource: object) => void}} options validate throws when invalid */
  constructor({ validate }) {
    super();
    if (!(this.resources instanceof Map) || !(this.history instanceof Map)) {
      throw new Error('@medplum/fhir-router MemoryRepository internals changed: update lib/repository.js');
    }
    this.validate = validate;
    this.lastTimestamp = 0;
    this.writes = []; // resources stored since the last drainWrites()
    this.transactionDepth = 0;
  }

  reset() {
    this.clear();
    this.writes = [];
  }

  /** The resources written since the last call (committed ones only). */
  drainWrites() {
    const writes = this.writes;
    this.writes = [];
    return writes;
  }

  // -- writes ------------------------------------------------------------------------------

  async createResource(resource, options) {
    const candidate = deepClone(resource);
    // A plain create gets a server id; a transaction entry arrives with the id the batch
    // processor assigned up front (so urn:uuid references can be rewritten) and keeps it.
    if (!options?.assignedId || !candidate.id) {
      candidate.id = this.generateId();
    }
    return this.store(candidate);
  }

  async updateResource(resource, options) {
    if (!resource.id) {
      throw new OperationOutcomeError(badRequest('Missing id'));
    }
    if (options?.ifMatch !== undefined) {
      const current = this.resources.get(resource.resourceType)?.get(resource.id);
      if (!current) {
        throw new OperationOutcomeError(notFound);
      }
      if (current.meta.versionId !== options.ifMatch) {
        throw new OperationOutcomeError(preconditionFailed);
      }
    }
    // An update of an unknown id creates it (FHIR "update as create").
    return this.store(deepClone(resource));
  }

  async conditionalCreate(resource, search, options) {
    this.validate(resource); // before the search: an invalid body is refused even when a match exists
    return super.conditionalCreate(resource, search, options);
  }

  async conditionalUpdate(resource, search, options) {
    this.validate(resource);
    return super.conditionalUpdate(resource, search, options);
  }

  /** Validates, stamps meta (version, lastUpdated) and stores one version. */
  async store(resource) {
    this.validate(resource);
    if (resource.resourceType === 'Subscription' && resource.status === 'requested') {
      resource.status = 'active'; // the server accepts the subscription as it stores it
    }
    resource.meta = {
      ...resource.meta,
      versionId: this.nextVersionId(resource),
      lastUpdated: this.nextTimestamp(),
    };
    const stored = await super.createResource(resource);
    this.writes.push(deepClone(stored));
    return stored;
  }

  nextVersionId({ resourceType, id }) {
    // The history list holds every version ever stored, so it survives deletes.
    const versions = this.history.get(resourceType)?.get(id)?.length ?? 0;
    return String(versions + 1);
  }

  nextTimestamp() {
    this.lastTimestamp = Math.max(Date.now(), this.lastTimestamp + 1);
    return new Date(this.lastTimestamp).toISOString();
  }

  // -- reads -------------------------------------------------------------------------------

  async search(searchRequest) {
    checkSearchRequest(searchRequest);
    return super.search({ ...searchRequest, ...pageOf(searchRequest) });
  }

  async readHistory(resourceType, id) {
    await this.readResource(resourceType, id); // 404 for an unknown resource
    const versions = this.history.get(resourceType)?.get(id) ?? [];
    const entry = [...versions].reverse().map((version) => ({ resource: deepClone(version) }));
    return { resourceType: 'Bundle', type: 'history', total: entry.length, entry };
  }

  // -- transactions ------------------------------------------------------------------------

  /**
   * Runs the callback; if it throws, every write it made is undone. Nested calls (a
   * conditional create inside a transaction Bundle) join the outermost transaction.
   * Requests are served one at a time, so nothing else can write meanwhile.
   */
  async withTransaction(callback) {
    if (this.transactionDepth > 0) {
      return callback(undefined);
    }
    const saved = this.snapshot();
    this.transactionDepth++;
    try {
      return await callback(undefined);
    } catch (err) {
      this.restore(saved);
      throw err;
    } finally {
      this.transactionDepth--;
    }
  }

  snapshot() {
    // Stored resource objects are never mutated (MemoryRepository hands out clones), so
    // copying the maps and version lists is enough.
    return {
      resources: copyByTypeAndId(this.resources, (resource) => resource),
      history: copyByTypeAndId(this.history, (versions) => [...versions]),
      writes: this.writes.length,
    };
  }

  restore(saved) {
    this.resources = saved.resources;
    this.history = saved.history;
    this.writes.length = saved.writes;
  }
}

/** Copies a Map<resourceType, Map<id, value>>, each value through copyValue. */
function copyByTypeAndId(byType, copyValue) {
  const copy = new Map();
  for (const [resourceType, byId] of byType) {
    copy.set(resourceType, new Map([...byId].map(([id, value]) => [id, copyValue(value)])));
  }
  return copy;
}

module.exports = { TestRepository };
