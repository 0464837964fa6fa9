"""Where this package meets a library beyond its documented surface: one module per library.

Public APIs come first. Where a library's behaviour has to be reached around (or its internals
touched), that code lives here and nowhere else, with a test that names what it relies on and fails
loudly when an upgrade changes it (each module's docstring says which); pyproject.toml pins the
version range those tests ran on.
"""
