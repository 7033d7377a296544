"""The small menu `c` and `o` open: which value of the selected step to copy or page (lazygit's copy menu).

A letter picks an entry at once (`p` the prompt, `r` the response, ...); `j`/`k` and `enter` pick any entry,
attributes included; `esc` or `q` closes. Labels and previews come from the trace, so they are escaped and built
as `Text`, never parsed as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from orchtui.textsafe import printable

from .step_values import StepValue

PREVIEW_CHARS = 60


class KeyOptionList(OptionList):
    """An OptionList that also moves with j/k/g/G, as every list in the app does."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "first", "First", show=False),
        Binding("G", "last", "Last", show=False),
    ]


class ValueMenu(ModalScreen[StepValue | None]):
    DEFAULT_CSS = """
    ValueMenu { align: center middle; }
    ValueMenu > Vertical { width: 90%; max-width: 100; height: auto; max-height: 90%; border: round $accent; background: $surface; }
    ValueMenu #value-menu-title { height: 1; padding: 0 1; text-style: bold; }
    ValueMenu OptionList { height: auto; max-height: 20; }
    """
    BINDINGS = [Binding("escape", "dismiss_menu", "Close", id="value_menu.close"), Binding("q", "dismiss_menu", "Close", show=False)]

    def __init__(self, verb: str, values: list[StepValue]) -> None:
        super().__init__()
        self.verb = verb
        self.values = values

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"{self.verb} which value? (letter, or j/k and enter; esc closes)"), id="value-menu-title")
            yield KeyOptionList(*(Option(menu_line(value), id=str(index)) for index, value in enumerate(self.values)), id="value-menu", compact=True)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_key(self, event: events.Key) -> None:
        for value in self.values:
            if value.key and event.character == value.key:
                event.stop()
                self.dismiss(value)
                return

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.values[int(event.option.id or 0)])

    def action_dismiss_menu(self) -> None:
        self.dismiss(None)


def menu_line(value: StepValue) -> Text:
    """`p  prompt  system: You are a support agent…`: the letter, the label, the start of the value on one line."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{value.key or ' '}  ", style="bold")
    line.append(printable(value.label, True, limit=60), style="cyan")
    line.append("  ")
    line.append(printable(value.text()[: PREVIEW_CHARS * 2], True, limit=PREVIEW_CHARS), style="dim")
    return line
