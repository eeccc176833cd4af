"""cockpit: a terminal cockpit for rolling back a bad Laravel release within its RTO."""

__version__ = "0.1.0"
