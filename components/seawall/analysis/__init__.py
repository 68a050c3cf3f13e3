"""Cloud-neutral analyses over rendered specs and registered resources: query, policy, diff, drift."""
