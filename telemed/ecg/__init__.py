"""Remote ECG: intake, automated measurements, resource pools with exactly-once claiming, the 12-lead viewer and the report."""
