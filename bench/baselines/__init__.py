"""Minimal apps serving the same protected profile, to measure the project against."""
