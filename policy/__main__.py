"""seawall's CrossGuard policy pack. The rules live in the library (seawall.analysis.policy)."""

from pulumi_policy import PolicyPack
from seawall.preview.crossguard import policies

PolicyPack(name="seawall", policies=policies())
