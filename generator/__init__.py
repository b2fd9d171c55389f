"""consult: build a consultation site from git-backed content."""

__version__ = "0.1.0"
