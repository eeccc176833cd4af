"""Where signal values come from: one module per source kind (prometheus, http, ssh)."""

from cockpit.sources.base import Sampler, SourceError, make_sampler

__all__ = ["Sampler", "SourceError", "make_sampler"]
