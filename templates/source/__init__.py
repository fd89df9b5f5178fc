"""The reproducible source of the Word templates (see build_templates)."""
