"""orchtui's Textual front end (the only package that imports Textual). The interactive commands arrive with the
TUI issue; the headless engine in `orchtui` works without it."""
