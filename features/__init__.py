"""Acceptance features: the scenarios, their steps, and the helpers the steps share."""
