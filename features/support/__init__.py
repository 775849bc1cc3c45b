"""What the step modules share: the API client, the people of the scenarios, their tokens
and tasks. Step modules import these as `features.support.<module>`; behave puts the
working directory on the path, so run it from the repository root (`make features`).
"""
