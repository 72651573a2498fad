"""Eligibility: an enterprise's profile, the rules (YAML quoting the corpus), verdicts condition by condition."""
