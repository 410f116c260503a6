"""labelkit: a collaborative data-labeling portal."""

__version__ = "0.1.0"
