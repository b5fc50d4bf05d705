"""The one internal representation every intake format is converted to."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The standard 12 leads in the order a 12-lead layout shows them.
STANDARD_LEADS: tuple[str, ...] = (
    "I",
    "II",
    "III",
    "aVR",
    "aVL",
    "aVF",
    "V1",
    "V2",
    "V3",
    "V4",
    "V5",
    "V6",
)


# eq=False: equality by identity; comparing numpy arrays field by field would raise.
@dataclass(frozen=True, eq=False)
class EcgRecord:
    """A multi-lead ECG: ``samples[i]`` is lead ``leads[i]``, in microvolts.

    ``samples`` is float64 with shape (n_leads, n_samples). Readers validate before they
    build one (finite samples, equal lengths, a sane rate and duration), so a caller holding
    an ``EcgRecord`` may rely on it. ``meta`` keeps a few strings as found in the source
    (acquisition time, device, patient id): they are informative, never trusted for identity.
    """

    sampling_rate: float
    leads: tuple[str, ...]
    samples: np.ndarray
    source_format: str
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sampling_rate

    def lead(self, name: str) -> np.ndarray:
        """The samples of one lead (microvolts); ``KeyError`` if the record lacks it."""
        try:
            return self.samples[self.leads.index(name)]
        except ValueError:
            raise KeyError(name) from None

    def has_lead(self, name: str) -> bool:
        return name in self.leads
