"""Tables of the FHIR facade (resource versions for vread and history)."""
