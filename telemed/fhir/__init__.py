"""The FHIR R4 REST facade at /fhir: the platform's own models mapped to and from FHIR
resources (one module per resource type under ``resources/``), for hospital systems.

- Served: ``metadata`` (built from the registry, so it lists exactly what has code behind
  it), read, vread, search (``_count``/``_offset`` paging with next/previous links,
  ``_include``, ``_total=accurate``), create, update with ``If-Match``, conditional create
  (``If-None-Exist``), and transaction/batch Bundles posted to /fhir.
- Authentication: OAuth2 client-credentials bearer tokens (``telemed client create``), which
  act as the client's institution's system account, so the scoping queries apply; signed-in
  sessions may read. SMART system scopes per client: ``telemed fhir_scopes CLIENT_ID
  system/Patient.rs system/Task.cu ...`` (a client without scopes may do nothing here).
- Every error is an OperationOutcome, except the two refusals made before any view runs by
  the platform's border middleware (an oversized body: 413, a NUL character: 400), which
  answer the platform's plain JSON error.
- Versions (``versions.py``): a resource's JSON is recorded whenever it differs from its
  last recorded version, so changes made by the workflow show as new versions too.
"""
