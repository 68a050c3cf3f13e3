"""Every human and machine view (tables, Markdown, JSON, Mermaid). rich is imported here and in cli/ only."""
