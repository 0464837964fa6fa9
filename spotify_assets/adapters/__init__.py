"""Where this package meets a library beyond its documented surface: one module per library.

Public APIs come first. Where a library's behaviour has to be reached around (or its internals
touched), that code lives here and nowhere else, with a test in `spotify_assets_tests/test_adapters.py`
that names what it relies on and fails loudly when an upgrade changes it; pyproject.toml pins the
version range those tests ran on.
"""
