"""orchtui: the headless engine (store, analysis, evaluators, CLI). Imports `parsers`, never Textual or Rich."""

__version__ = "0.1.0"
