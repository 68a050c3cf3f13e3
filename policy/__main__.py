"""seawall's CrossGuard policy pack. The rules live in the library (seawall.policy)."""

from pulumi_policy import PolicyPack
from seawall.crossguard import policies

PolicyPack(name="seawall", policies=policies())
