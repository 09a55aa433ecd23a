"""The shared template macros (reports/rendering/templates/_macros.html) on their own."""

from __future__ import annotations

import re

import pytest

from reports.rendering.site import environment

TABLE = (
    '{% from "_macros.html" import data_table %}'
    '{% call(row) data_table("t", [("A", ""), ("B", "num")], rows=rows, empty=empty) %}\n'
    "<tr><td>{{ row }}</td><td>{{ row * 2 }}</td></tr>\n"
    "{% endcall %}"
)


def _render(source: str, **context: object) -> str:
    return environment().from_string(source).render(**context)


def _body(html: str) -> str:
    return re.search(r"<tbody>\n(.*)</tbody>", html, re.S).group(1)


def test_data_table_renders_one_row_per_item():
    html = _render(TABLE, rows=[1, 2], empty="none")
    assert _body(html) == "<tr><td>1</td><td>2</td></tr>\n<tr><td>2</td><td>4</td></tr>\n"


@pytest.mark.parametrize(
    ("empty", "body"),
    [
        ("nothing <b>here</b>", '<tr><td colspan="2">nothing &lt;b&gt;here&lt;/b&gt;</td></tr>\n'),
        (None, ""),
    ],
)
def test_data_table_without_rows_shows_the_escaped_empty_row_across_every_column(empty, body):
    assert _body(_render(TABLE, rows=[], empty=empty)) == body


def test_data_table_without_rows_argument_renders_the_call_body():
    html = _render(
        '{% from "_macros.html" import data_table %}'
        '{% call data_table("t", [("A", "")]) %}\n<tr><td>x</td></tr>\n{% endcall %}'
    )
    assert _body(html) == "<tr><td>x</td></tr>\n"


@pytest.mark.parametrize("note", ["a note", None])
def test_section_is_labelled_by_its_heading_and_shows_the_note_when_given(note):
    html = _render(
        '{% from "_macros.html" import section %}'
        '{% call section("h-x", "Title <i>", note) %}\nbody\n{% endcall %}',
        note=note,
    )
    expected_note = f'<p class="note">{note}</p>\n' if note else ""
    assert html == (
        '<section aria-labelledby="h-x">\n<h2 id="h-x">Title &lt;i&gt;</h2>\n'
        f"{expected_note}body\n</section>"
    )
