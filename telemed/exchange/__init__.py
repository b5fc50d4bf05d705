"""The data exchange hub: the FHIR R4 facade, HL7 v2 over MLLP, reliable outbound delivery and code mapping."""
