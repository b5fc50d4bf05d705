"""Operator screens of the imaging app: none on purpose.

Studies, series and instances are patient data; the admin reads without the caller's scope
and without an audit trail, so operators reach them through the scoped pages and the API
instead. The remote DICOM nodes that send them are administered in the dicom app.
"""
