"""revalign: sales and marketing alignment, in Slack."""

__version__ = "0.1.0"
