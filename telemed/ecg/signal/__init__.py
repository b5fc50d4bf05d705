"""The signal side of the ECG app: one record shape, the readers, the analysis, the codes.

No Django models live here. Callers read an upload with ``readers.read_record`` (or a file
on disk with ``readers.read_path``), get an ``EcgRecord`` in microvolts, and measure it with
``analysis.analyze``. Every refusal is an ``errors.EcgFormatError`` (422 or 413).
"""
