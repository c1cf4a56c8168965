'use strict';
// Validation of resources on create and update: Medplum's structural validator, plus the
// one check it leaves out that matters to us, required code bindings.
//
// Medplum's validateResource checks element names, types, cardinality and FHIRPath
// invariants, but accepts `"status": "bogus"`. A real FHIR server rejects that, and it is
// exactly the kind of client bug an integration test should catch, so the codes of every
// `code` element with a *required* binding to an enumerable value set are checked here.

const { OperationOutcomeError, badRequest, validateResource } = require('@medplum/core');

/**
 * @param {{resourceProfiles: object, valueSets: object}} definitions from loadDefinitions()
 * @returns {(resource: object) => void} throws an OperationOutcomeError (400) when invalid
 */
function createValidator({ resourceProfiles, valueSets }) {
  const requiredCodes = indexRequiredCodes(resourceProfiles, valueSets);
  return function validate(resource) {
    if (!resource || typeof resource !== 'object' || Array.isArray(resource)) {
      throw new OperationOutcomeError(badRequest('Expected a FHIR resource (a JSON object)'));
    }
    validateResource(resource);
    const issues = requiredCodeIssues(resource, requiredCodes.get(resource.resourceType) ?? []);
    if (issues.length) {
      throw new OperationOutcomeError({ resourceType: 'OperationOutcome', issue: issues });
    }
  };
}

/**
 * resourceType -> [{path: ['channel', 'type'], codes: Set, valueSet}] for each element of
 * type `code` with a required binding whose codes can be listed. Value sets built from
 * filters or other value sets (and MIME types, which are open-ended) are skipped.
 */
function indexRequiredCodes(resourceProfiles, valueSetBundle) {
  const codeSystems = new Map();
  const valueSets = new Map();
  for (const { resource } of valueSetBundle.entry) {
    if (resource.resourceType === 'CodeSystem') codeSystems.set(resource.url, resource);
    if (resource.resourceType === 'ValueSet') valueSets.set(resource.url, resource);
  }

  const index = new Map();
  for (const { resource: profile } of resourceProfiles.entry) {
    if (profile.resourceType !== 'StructureDefinition' || profile.kind !== 'resource') continue;
    const checks = [];
    for (const element of profile.snapshot?.element ?? []) {
      const isRequiredCode =
        element.binding?.strength === 'required' &&
        element.type?.length === 1 &&
        element.type[0].code === 'code';
      if (!isRequiredCode) continue;
      const valueSet = element.binding.valueSet.split('|')[0];
      const codes = enumerateValueSet(valueSets.get(valueSet), codeSystems);
      if (codes) checks.push({ path: element.path.split('.').slice(1), codes, valueSet });
    }
    index.set(profile.type, checks);
  }
  return index;
}

/** All codes of a value set, or undefined when it cannot be enumerated simply. */
function enumerateValueSet(valueSet, codeSystems) {
  const compose = valueSet?.compose;
  if (!compose || compose.exclude) return undefined;
  const codes = new Set();
  for (const include of compose.include) {
    if (include.filter || include.valueSet) return undefined;
    if (include.concept) {
      include.concept.forEach((concept) => codes.add(concept.code));
      continue;
    }
    const codeSystem = codeSystems.get(include.system);
    if (codeSystem?.content !== 'complete') return undefined;
    addConcepts(codeSystem.concept, codes);
  }
  return codes;
}

function addConcepts(concepts, codes) {
  for (const concept of concepts ?? []) {
    codes.add(concept.code);
    addConcepts(concept.concept, codes); // hierarchical code systems nest their codes
  }
}

function requiredCodeIssues(resource, checks) {
  const issues = [];
  for (const { path, codes, valueSet } of checks) {
    for (const value of valuesAt(resource, path)) {
      if (typeof value === 'string' && !codes.has(value)) {
        issues.push({
          severity: 'error',
          code: 'code-invalid',
          details: { text: `Value "${value}" is not in the required value set ${valueSet}` },
          expression: [[resource.resourceType, ...path].join('.')],
        });
      }
    }
  }
  return issues;
}

/** The values at an element path, descending through arrays (backbone elements repeat). */
function valuesAt(node, path) {
  if (node === undefined || node === null) return [];
  if (Array.isArray(node)) return node.flatMap((item) => valuesAt(item, path));
  if (path.length === 0) return [node];
  if (typeof node !== 'object') return [];
  return valuesAt(node[path[0]], path.slice(1));
}

module.exports = { createValidator };
