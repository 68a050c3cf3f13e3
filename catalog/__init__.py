"""Package marker: lets the catalogue data ship inside the wheel as ``seawall.vendors``."""
