"""The FHIR R4 REST facade at /fhir: the platform's own models mapped to and from FHIR resources (one module per resource type), for hospital systems."""
