"""seawall: vendor mail-security port requirements as cloud firewalls."""

__version__ = "0.1.0"
