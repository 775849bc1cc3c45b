"""Tooling shared by the tests, the features, the load smoke and the benchmark; not shipped.

It never imports the test suite, and the wheel leaves it out (pyproject.toml's packages).
"""
