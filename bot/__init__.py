"""pactwatch: news monitoring for North Korea–Russia relations, for Discord, Slack and the console."""

__version__ = "0.1.0"
