"""Tables of the pathology app."""
