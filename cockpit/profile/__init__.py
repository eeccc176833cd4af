"""Profiles: the TOML file describing hosts, sources, signals, checks and steps."""
