"""Azure: limits and type tokens, renderer, component, rule evaluator, registered-resource reader, account reader, drift."""
