"""Tables of the dicom app."""
