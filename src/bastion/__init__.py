"""Bastion: keep terrorist organisations off a social platform, and protect its people from their threats."""

__version__ = "0.1.0"
