"""The imaging pages: received studies, the case's studies, the viewer, the report."""
