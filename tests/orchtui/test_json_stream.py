"""`write_json` writes a document's long list a batch at a time, and the bytes are exactly `json_bytes`'s: the same
indentation, the same escaping of acting characters, so a `--json` report reads the same however it was written."""

from __future__ import annotations

import io
import json

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from orchtui import textsafe
from orchtui.textsafe import Streamed, json_bytes, write_json

# Text with the characters the escaping is about: C1 controls, DEL, bidi overrides, tags, line separators.
TEXT = st.text(alphabet=st.sampled_from(["a", "é", "—", "\n", '"', "\\", "\x7f", "\x85", "\u202e", "\u2028", "\U000e0041", "𝄞"]), max_size=8)
SCALARS = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | TEXT
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)


def streamed_bytes(document: dict) -> bytes:
    out = io.BytesIO()
    write_json(out, document)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(
    head=st.dictionaries(TEXT, VALUES, max_size=3),
    items=st.lists(VALUES, max_size=6),
    tail=st.dictionaries(TEXT, VALUES, max_size=3),
)
def test_a_streamed_list_writes_the_bytes_of_the_whole_document(head, items, tail):
    tail = {key: value for key, value in tail.items() if key not in head and key != "items"}
    head = {key: value for key, value in head.items() if key != "items"}
    whole = {**head, "items": items, **tail}
    batch = textsafe.STREAM_BATCH
    try:
        for textsafe.STREAM_BATCH in (batch, 2):  # in one batch, and in several
            assert streamed_bytes({**head, "items": Streamed(iter(items)), **tail}) == json_bytes(whole)
    finally:
        textsafe.STREAM_BATCH = batch


def test_batches_join_as_one_list(monkeypatch):
    monkeypatch.setattr(textsafe, "STREAM_BATCH", 2)
    for count in range(6):  # empty, part of a batch, whole batches, a batch and a part
        items = [{"n": n, "text": "a\u202eb"} for n in range(count)]
        document = {"version": 1, "results": items, "errors": []}
        written = streamed_bytes({**document, "results": Streamed(item for item in items)})
        assert written == json_bytes(document)
        assert orjson.loads(written) == document


def test_acting_characters_in_streamed_items_and_keys_are_escaped():
    document = {"na\u202eme": [{"trace": "x\x1b]52;c;AAAA\x07 \x85 \x7f"}]}
    written = streamed_bytes({"na\u202eme": Streamed([{"trace": "x\x1b]52;c;AAAA\x07 \x85 \x7f"}])})
    assert json.loads(written) == document
    assert not textsafe.UNSAFE.search(written.decode()) and b"\\u202e" in written and b"\\u0085" in written


def test_the_items_are_made_as_they_are_written():
    """The point of streaming: the CLI's generator is drawn a batch at a time, not collected first."""
    drawn: list[int] = []
    writes: list[int] = []  # how many items had been made at each write
    out = io.BytesIO()

    def items():
        for n in range(3 * textsafe.STREAM_BATCH):
            drawn.append(n)
            yield {"n": n}

    class Watching(io.BytesIO):
        def write(self, data):
            writes.append(len(drawn))
            return out.write(data)

    write_json(Watching(), {"results": Streamed(items())})
    assert min(n for n in writes if n) == textsafe.STREAM_BATCH  # the first batch went out before the second was made
    assert orjson.loads(out.getvalue()) == {"results": [{"n": n} for n in range(3 * textsafe.STREAM_BATCH)]}


def test_a_document_without_a_streamed_value_is_json_bytes():
    document = {"version": 1, "traces": [{"name": "café"}]}
    assert streamed_bytes(document) == json_bytes(document)
    assert streamed_bytes({}) == json_bytes({})
