"""Tables of the ecg app."""
