"""telemed: a telemedicine collaboration platform for provincial hospital networks."""

__version__ = "0.1.0"
