"""De-identification for readers outside the patient's network (DICOM PS3.15 Annex E).

``profile`` holds the attribute actions, ``pseudonyms`` the consistent replacement values
and their way back, ``disclosure`` decides who gets what, ``part10`` streams a stored
instance out de-identified, and ``shown`` masks what the pages show.
"""
