"""Reading contacts and events, writing scores, and generating synthetic data."""
