"""`python -m orchtui` runs the command line, as the `orchtui` script does."""

from .entry import run

run()
