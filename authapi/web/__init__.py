"""The HTTP adaptation: the app factory, its middleware, validators, problems and metrics.

It imports the domain (the modules of `authapi`), never the other way round.
"""
