"""Forges: where an accepted submission is proposed as a change (local git branches or GitHub pull requests)."""
