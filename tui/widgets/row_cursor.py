"""The movement of a line-API list whose `cursor` indexes `rows` (the trace list, the route table), in one place so
every list answers j/k, g/G and the page keys the same way."""

from __future__ import annotations


class RowCursor:
    """Mixed into a ScrollView that has `rows` and a reactive `cursor`; HEADER_LINES are lines above the rows."""

    HEADER_LINES = 0
    rows: list
    cursor: int

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1 - self.HEADER_LINES)  # type: ignore[attr-defined]

    def action_cursor_down(self) -> None:
        if self.cursor < len(self.rows) - 1:
            self.cursor += 1

    def action_cursor_up(self) -> None:
        if self.cursor > 0:
            self.cursor -= 1

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, len(self.rows) - 1)

    def action_page_down(self) -> None:
        self.cursor = min(max(0, len(self.rows) - 1), self.cursor + self._page)

    def action_page_up(self) -> None:
        self.cursor = max(0, self.cursor - self._page)
