"""Fake upstream services (GitHub, GitLab, PyPI, websites) for tests and benchmarks."""
