"""Vendor addresses: IP sets, the lock file format, the fail-closed merge, and DNS resolution."""
