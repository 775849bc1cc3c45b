"""Support shared by the tests, the features, the load smoke and the benchmark; not shipped."""
