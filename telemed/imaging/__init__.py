"""Remote imaging: studies indexed by patient, study, series and instance, DICOMweb, quality checks, the viewer and the signed report."""
