"""The user's settings: $XDG_CONFIG_HOME/orchtui/config.toml (else ~/.config/orchtui/config.toml), then
environment variables, then command-line options (the CLI applies those last).

Format (every part optional):

    theme = "nord"                      # any Textual theme name (env ORCHTUI_THEME)

    [keymap]                            # binding id -> keys, comma-separated (Textual's App.set_keymap)
    "app.quit" = "q,ctrl+q"
    "steps.next_flag" = "right_curly_bracket"
    "steps.search" = "ctrl+f"

    [defaults]
    follow = true                       # follow the newest trace in tail and demo (env ORCHTUI_FOLLOW: 1/0)
    max_spans = 2000000                 # memory bound of open/tail (env ORCHTUI_MAX_SPANS)
    fail_on = "warn"                    # check's --fail-on: info, warn or critical (env ORCHTUI_FAIL_ON)
    profile = "futureagi"               # eval's --profile and the `e` key's: default or futureagi (env ORCHTUI_PROFILE);
                                        # a gate file's `profile` wins over it

    [remote.clickhouse]                 # credentials of trace stores (read by orchtui/remote; README: Many machines)
    password = "…"                      # env CLICKHOUSE_PASSWORD wins

ORCHTUI_CONFIG names another file. The binding ids are the `id=` of each Binding (`?` lists the keys; the ids
are app.*, steps.*, help.* …); unknown ids are reported by the UI. A config file that cannot be read or parsed,
or a value of the wrong type, is reported (`Config.problems`) and skipped, never fatal: a typo in a dotfile must
not stop a triage at 3 a.m.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

FAIL_ON = ("info", "warn", "critical")
TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


@dataclass
class Config:
    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    follow: bool | None = None
    max_spans: int | None = None
    fail_on: str | None = None
    profile: str | None = None  # the evaluators' profile (orchtui.evals.PROFILES)
    path: Path | None = None  # the file read, if any
    problems: list[str] = field(default_factory=list)  # what was wrong and skipped, one line each


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    if environ.get("ORCHTUI_CONFIG"):
        return Path(environ["ORCHTUI_CONFIG"]).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "orchtui" / "config.toml"


def load_config(environ: Mapping[str, str] = os.environ) -> Config:
    """The file's settings overlaid with the environment's; never raises for a bad file or value."""
    config = Config()
    path = config_path(environ)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        config.path = path
    except FileNotFoundError:
        data = {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        config.problems.append(f"{path}: not read: {exc}")
        data = {}
    _apply_file(config, data, path)
    _apply_environ(config, environ)
    return config


def _apply_file(config: Config, data: dict, path: Path) -> None:
    def problem(message: str) -> None:
        config.problems.append(f"{path}: {message}")

    for key in data.keys() - {"theme", "keymap", "defaults", "remote"}:
        problem(f"unknown setting {key!r}")
    if "theme" in data:
        config.theme = _text(data["theme"], "theme", problem)
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict):
        problem("[keymap] must be a table of binding id = \"keys\"")
        keymap = {}
    for binding_id, keys in keymap.items():
        if isinstance(keys, str) and keys.strip():
            config.keymap[binding_id] = keys.replace(" ", "")
        else:
            problem(f"keymap {binding_id!r}: keys must be a non-empty string such as \"q,ctrl+q\"")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        problem("[defaults] must be a table")
        defaults = {}
    for key in defaults.keys() - {"follow", "max_spans", "fail_on", "profile"}:
        problem(f"unknown default {key!r}")
    if "follow" in defaults:
        if isinstance(defaults["follow"], bool):
            config.follow = defaults["follow"]
        else:
            problem("defaults.follow must be true or false")
    if "max_spans" in defaults:
        config.max_spans = _positive(defaults["max_spans"], "defaults.max_spans", problem)
    if "fail_on" in defaults:
        config.fail_on = _choice(defaults["fail_on"], "defaults.fail_on", problem)
    if "profile" in defaults:
        config.profile = _choice(defaults["profile"], "defaults.profile", problem, _profiles())


def _apply_environ(config: Config, environ: Mapping[str, str]) -> None:
    def problem(message: str) -> None:
        config.problems.append(f"environment: {message}")

    if environ.get("ORCHTUI_THEME"):
        config.theme = environ["ORCHTUI_THEME"]
    if environ.get("ORCHTUI_FOLLOW"):
        value = environ["ORCHTUI_FOLLOW"].strip().lower()
        if value in TRUE or value in FALSE:
            config.follow = value in TRUE
        else:
            problem(f"ORCHTUI_FOLLOW={value!r}: use 1 or 0")
    if environ.get("ORCHTUI_MAX_SPANS"):
        try:
            number = int(environ["ORCHTUI_MAX_SPANS"])
        except ValueError:
            number = -1
        config.max_spans = _positive(number, "ORCHTUI_MAX_SPANS", problem) or config.max_spans
    if environ.get("ORCHTUI_FAIL_ON"):
        config.fail_on = _choice(environ["ORCHTUI_FAIL_ON"], "ORCHTUI_FAIL_ON", problem) or config.fail_on
    if environ.get("ORCHTUI_PROFILE"):
        config.profile = _choice(environ["ORCHTUI_PROFILE"].strip(), "ORCHTUI_PROFILE", problem, _profiles()) or config.profile


def _text(value: object, name: str, problem) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    problem(f"{name} must be a non-empty string")
    return None


def _positive(value: object, name: str, problem) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    problem(f"{name} must be a positive whole number")
    return None


def _choice(value: object, name: str, problem, choices: tuple[str, ...] = FAIL_ON) -> str | None:
    if isinstance(value, str) and value in choices:
        return value
    problem(f"{name} must be one of {', '.join(choices)}")
    return None


def _profiles() -> tuple[str, ...]:
    from .evals import PROFILES  # on demand: the UI reads its config before anything evaluates

    return PROFILES
