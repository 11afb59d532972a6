"""What a piece of Streamlit markdown would turn into: links, images, raw HTML.

The renderer is markdown-it-py (CommonMark, raw HTML on, so any tag that slips through is
seen as one). Streamlit's own renderer (react-markdown with remark-gfm) also turns GFM's
"autolink literals" into links, in text after its escapes are resolved; markdown-it-py
does not do that without linkify-it, so the same patterns mdast-util-gfm-autolink-literal
uses (its findAndReplace expressions, v2) are run over each rendered text run here.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

#: mdast-util-gfm-autolink-literal: ``/(https?:\/\/|www(?=\.))([-.\w]+)([^ \t\r\n]*)/gi``
#: and ``/([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)/g`` (JavaScript's \w is ASCII).
GFM_URL = re.compile(r"(?:https?://|www(?=\.))[-.A-Za-z0-9_]+", re.IGNORECASE)
GFM_EMAIL = re.compile(r"[-.A-Za-z0-9_+]+@[-A-Za-z0-9_]+(?:\.[-A-Za-z0-9_]+)+")

_BAD_TOKENS = {"link_open", "image", "html_inline", "html_block"}


def _texts(tokens):
    for tok in tokens:
        if tok.type == "text":
            yield tok.content
        if tok.children:
            yield from _texts(tok.children)


def live_elements(markdown: str) -> list[str]:
    """Every link, image, raw HTML or bare URL Streamlit would draw from `markdown`
    (empty: it is shown as text)."""
    tokens = _MD.parse(markdown)
    found = []

    def walk(toks):
        for tok in toks:
            if tok.type in _BAD_TOKENS:
                found.append(f"{tok.type}: {tok.attrs or tok.content!r}")
            if tok.children:
                walk(tok.children)

    walk(tokens)
    for text in _texts(tokens):
        found += [f"autolink: {m.group(0)!r}" for m in GFM_URL.finditer(text)]
        found += [f"email autolink: {m.group(0)!r}" for m in GFM_EMAIL.finditer(text)]
    rendered = _MD.render(markdown)
    for tag in ("<a ", "<img", "<script", "<iframe"):
        if tag in rendered.lower():
            found.append(f"rendered {tag.strip()}")
    return found


def render(markdown: str) -> str:
    return _MD.render(markdown)
