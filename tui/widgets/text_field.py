"""A one-line text field (the trace filter, the step search) that hands focus back the moment enter submits it."""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.widget import Widget
from textual.widgets import Input


class TextField(Input):
    """An `Input` whose enter returns focus to the pane it serves while the key is handled, so the keys typed
    right after enter act there, in order (`/re enter j` typed fast had filtered on "rej").

    Textual hands a key to the widget focused when it arrives, and the app resolves its binding when the key
    bubbles up, against what is focused then. Keys that arrived while this field had focus are queued here; the
    field submits on enter as it takes it from that queue (not when enter's binding runs at the app, after the
    field has taken the next letters as text) and lets the keys after it bubble up untouched to the pane focused
    now."""

    def __init__(self, *, returns_to: Callable[[], Widget], placeholder: str, id: str) -> None:
        super().__init__(placeholder=placeholder, id=id)
        self._returns_to = returns_to

    async def _on_key(self, event: events.Key) -> None:
        if not self.has_focus:  # typed after the key that took focus away: the app gives it to the pane focused now
            event.prevent_default()  # not Input's own handling, which would type it in here
        elif event.key == "enter":  # here, not at the app: the letters queued behind it must not land in the field
            event.prevent_default()
            event.stop()
            await self.action_submit()

    async def action_submit(self) -> None:
        """Also enter's binding, when enter was typed before the field took focus and reached it by the app."""
        self.screen.set_focus(self._returns_to())
        await super().action_submit()
