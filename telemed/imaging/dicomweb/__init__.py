"""DICOMweb at /dicomweb (PS3.18): QIDO-RS search, WADO-RS retrieval (instances as stored,
metadata, frames, rendered images) and STOW-RS through the same ingest service as C-STORE.
Plain Django views; every read is scoped to the caller and audited."""
