"""The key hints, redrawn when, and only when, the keys that work change.

Textual's Footer rebuilds all its keys on every bindings notice (focus, screen stack, each `refresh_bindings`),
queued behind the next refresh, and not at all while the terminal reports the app unfocused (tmux with focus
events, a second pane): under load the rebuilds queued up and the hints lagged focus changes, naming the keys of
the pane just left. Here a notice rebuilds the keys only when the active bindings differ from those shown, focused
terminal or not. (Rebuilding with `call_next` instead of after the refresh hung the first paint under TERM=dumb.)
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    _shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not self.is_attached or screen is not self.screen:
            return
        shown = tuple(
            (key, active.binding.action, active.binding.description, active.enabled, active.binding.show)
            for key, active in screen.active_bindings.items()
        )
        if shown != self._shown:
            self._shown = shown
            self.call_after_refresh(self.recompose)
