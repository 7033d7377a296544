"""orchtui.parsers: bytes in, normalized spans out. Pure: no Textual, no Rich, no threads, no sockets."""

from .read import parse_bytes, read_path
from .result import ParseResult
from .span import Message, ReadError, Source, Span, SpanEvent, Tokens, ToolCallRequest

__all__ = [
    "Message",
    "ParseResult",
    "ReadError",
    "Source",
    "Span",
    "SpanEvent",
    "Tokens",
    "ToolCallRequest",
    "parse_bytes",
    "read_path",
]
