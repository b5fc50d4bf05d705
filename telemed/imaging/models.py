"""Tables of the imaging app."""
