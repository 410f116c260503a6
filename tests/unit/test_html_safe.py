"""The HTML sanitizer: what a task's HTML may carry into the labeling page. Nothing that
runs, loads from elsewhere or submits survives; the markup people label keeps its text
and structure (so Label Studio's xpaths into it still point at the same paragraphs)."""

from __future__ import annotations

import re

import pytest

from labelkit.media.html_safe import sanitize

NASTY = [
    '<script>alert(1)</script>',
    '<SCRIPT SRC=http://evil.example/x.js></SCRIPT>',
    '<img src="/data/upload/a.png" onerror="alert(1)">',
    '<p onclick="alert(1)" onmouseover="alert(2)">hi</p>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href=" JaVaScRiPt:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    '<iframe src="https://evil.example/"></iframe>',
    '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x">',
    '<svg><use href="https://evil.example/sprite.svg#x"/></svg>',
    '<svg onload="alert(1)"><script>alert(2)</script></svg>',
    '<math><mtext><style><img src=x onerror=alert(1)></style></mtext></math>',
    '<style>p { background: url(https://evil.example/track.png) }</style>',
    '<p style="background-image: url(https://evil.example/t.png)">x</p>',
    '<p style="color: red; background: u\\72l(https://evil.example/t.png)">x</p>',
    '<link rel="stylesheet" href="https://evil.example/s.css">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
    '<form action="https://evil.example/"><input name="q"><button>go</button></form>',
    '<img src="https://evil.example/pixel.gif">',
    '<img src="//evil.example/pixel.gif">',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<img src="/data/upload/../../etc/passwd">',
    '<img srcset="https://evil.example/a.png 1x" src="/data/upload/a.png">',
    '<video src="https://evil.example/v.mp4"></video><audio src="https://evil.example/a.mp3"></audio>',
    '<details open ontoggle="alert(1)">x</details>',
    '<div id="__proto__" class="stApp">clobber</div>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
]
# Things that must not be in the output, whatever the input was.
FORBIDDEN = re.compile(
    r"<\s*(script|iframe|object|embed|svg|use|style|link|meta|base|form|input|button|video|audio|math)\b"
    r"|\bon[a-z]+\s*=|javascript:|data:|srcdoc|srcset|url\s*\(|evil\.example|\.\./|\bid=|\bclass=",
    re.IGNORECASE,
)


@pytest.mark.parametrize("html", NASTY)
def test_nothing_that_runs_or_loads_survives(html: str) -> None:
    cleaned = sanitize(html)
    assert not FORBIDDEN.search(cleaned), cleaned


def test_harmless_markup_and_its_text_are_kept() -> None:
    html = (
        "<div><h2>Title</h2><p>Ada <b>Lovelace</b> wrote <i>notes</i>.</p>"
        "<ul><li>one</li><li>two</li></ul><table><tr><td>cell</td></tr></table>"
        '<p style="color: red; font-weight: bold">red</p><a href="https://example.org/">link</a></div>'
    )
    cleaned = sanitize(html)
    for kept in ("<h2>Title</h2>", "<b>Lovelace</b>", "<i>notes</i>", "<li>two</li>", "<td>cell</td>",
                 'style="color:red;font-weight:bold"', 'href="https://example.org/"', 'rel="noopener noreferrer"'):
        assert kept in cleaned
    assert re.sub(r"<[^>]+>", "", cleaned) == "TitleAda Lovelace wrote notes.onetwocellredlink"


def test_script_text_is_dropped_not_shown() -> None:
    assert sanitize("<p>a</p><script>steal()</script><p>b</p>") == "<p>a</p><p>b</p>"


def test_uploaded_images_stay_and_may_be_signed() -> None:
    assert sanitize('<img src="/data/upload/samples/a.png" alt="a">') == '<img src="/data/upload/samples/a.png" alt="a">'
    signed = sanitize('<img src="/data/upload/samples/a.png">', local_url=lambda p: f"http://localhost:1{p}?sig=x")
    assert signed == '<img src="http://localhost:1/data/upload/samples/a.png?sig=x">'
    assert sanitize('<img src="/data/upload/a.png">', local_url=lambda p: None) == "<img>"


def test_empty_and_missing() -> None:
    assert sanitize("") == "" and sanitize(None) == ""
