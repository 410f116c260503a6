"""The layout a View's inline style asks for."""

from __future__ import annotations

import pytest

from labelkit.config.style import grid_columns


@pytest.mark.parametrize(
    "style,children,expected",
    [
        ("display: flex;", 3, [1.0, 1.0, 1.0]),
        ("display: flex; flex-wrap: wrap", 2, [1.0, 1.0]),
        ("display:flex; flex-direction: column", 3, None),
        ("display: flex", 1, None),  # one child needs no columns
        ("display: grid; grid-template-columns: 1fr 10fr 1fr 3fr; column-gap: 1em", 4, [1.0, 10.0, 1.0, 3.0]),
        ("display: grid; grid-template-columns: repeat(3, 1fr)", 6, [1.0, 1.0, 1.0]),
        ("display: grid; grid-template-columns: 200px 1fr", 2, [2.0, 1.0]),
        ("display: grid; grid-template-columns: minmax(100px, 1fr) 1fr", 2, None),  # not understood: stacked
        ("padding: 10px; background: #eee", 2, None),
        ("", 2, None),
    ],
)
def test_columns_from_inline_styles(style: str, children: int, expected: list | None) -> None:
    assert grid_columns(style, children) == expected
