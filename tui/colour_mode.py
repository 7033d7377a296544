"""How severity reads in each colour mode: full colour, 16 colours, and none (NO_COLOR or TERM=dumb).

Textual's own handling fails the reader at both ends. Under NO_COLOR it greys every colour by luminance, so the
red of `✗`, `ERR` and `LOOP` becomes the darkest grey on screen, the least visible text; with TERM=dumb Rich finds no
colour system and Textual falls back to 24-bit. On 16-colour terminals the truecolour theme is rounded to the
nearest of 16 colours (the selection turned bright red, the warning yellow redder than the critical red).

So: 16 colours use Textual's `ansi-dark` theme (native ANSI colours, nothing rounded), and no colour replaces the
greying filter with `PlainSeverity`, which drops every colour and says severity with attributes instead: red text
(critical, error) in reverse video and bold, yellow text (warnings) bold and underlined, and a highlighted
background (the cursor row, the focused key) in reverse video. The render helpers' ANSI colours (`bold red`) reach
that filter as ANSI numbers (Textual's ANSI-to-RGB filter is left out): Textual's dark ANSI palette makes yellow
orange, which no hue rule could tell from the theme's orange accent.

Which mode applies is decided when the app starts: given (tests, snapshots), else detected from the terminal, and
full colour when headless (snapshots record truecolour SVG whatever the TERM of the machine running them).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter

FULL, SIXTEEN, NONE = "full", "16", "none"
SIXTEEN_THEME = "ansi-dark"
DEFAULT_COLOURS = Style.from_color(RichColor.default(), RichColor.default())
HIGHLIGHT_CONTRAST = 0.25  # a background this much brighter or darker than the screen's is a highlight


def detect(environ: Mapping[str, str], color_system: str | None) -> str:
    """The colour mode for this terminal: `color_system` is what Rich detected (None for TERM=dumb)."""
    if "NO_COLOR" in environ or color_system is None or environ.get("TERM", "") in ("dumb", "unknown"):
        return NONE
    if color_system in ("standard", "windows"):
        return SIXTEEN
    return FULL


ANSI_CLASSES = {1: "alarm", 9: "alarm", 3: "warn", 11: "warn"}  # red, bright red, yellow, bright yellow


def _hue_class(color: RichColor | None) -> str | None:
    if color is None or color.is_default:
        return None
    if color.number is not None and color.number < 16:
        return ANSI_CLASSES.get(color.number)
    hue, lightness, saturation = Color.from_rich_color(color).hsl
    hue *= 360
    if saturation < 0.4 or not 0.2 < lightness < 0.85:
        return None
    if hue < 15 or hue > 335:
        return "alarm"
    if 45 <= hue <= 70:
        return "warn"
    return None


@lru_cache(4096)
def plain_style(style: Style, background: Color) -> Style:
    """`style` without colour, its meaning kept in attributes (see the module docstring)."""
    kind = _hue_class(style.color)
    reverse = bool(style.reverse)
    if style.bgcolor is not None and not style.bgcolor.is_default:
        shade = Color.from_rich_color(style.bgcolor).brightness
        if abs(shade - background.brightness) >= HIGHLIGHT_CONTRAST:
            reverse = not reverse
    if kind == "alarm":
        return style + DEFAULT_COLOURS + Style(bold=True, dim=False, reverse=not reverse)
    if kind == "warn":
        return style + DEFAULT_COLOURS + Style(bold=True, dim=False, underline=True, reverse=reverse)
    return style + DEFAULT_COLOURS + Style(reverse=reverse)


class PlainSeverity(LineFilter):
    """The NO_COLOR / TERM=dumb filter: no colour at all, severity in reverse video, bold and underline."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [Segment(text, None if style is None else plain_style(style, background), control) for text, style, control in segments]
