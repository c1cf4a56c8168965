"""The EHR boundary: FHIR R4 resources in and out, modelled with fhir.resources R4B."""
