"""Placeholder: the learner's screen is being written."""
