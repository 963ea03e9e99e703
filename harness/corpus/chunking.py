"""Split long solutions into chunks a translator can take, at paragraph boundaries only.

A boundary is a blank line that lies outside every LaTeX display block (``$$..$$``, ``\\[..\\]``,
``\\begin{..}..\\end{..}``) and every code fence: a translator given half an ``align`` block
returns broken LaTeX, and the halves no longer fit together. Joining the chunks gives back the
text exactly (:func:`split_chunks` keeps the separators), so a solution that needs one chunk is
sent as it is.
"""

from __future__ import annotations

import re

_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
# Tokens that open or close a block inside which a blank line is no paragraph boundary.
_BLOCK_TOKENS = re.compile(r"\\\\|\\\$|\$\$|\\\[|\\\]|\\begin\{[^}]*\}|\\end\{[^}]*\}|```")


def _open_blocks(text: str, stack: list[str]) -> list[str]:
    """The block stack after reading ``text`` (a closing token pops its opener; a stray closer is
    ignored, so one malformed block cannot freeze the rest of the text)."""
    for match in _BLOCK_TOKENS.finditer(text):
        token = match.group()
        if token in ("\\\\", "\\$"):
            continue  # a LaTeX line break or an escaped dollar opens nothing
        if stack and stack[-1] == "```":
            if token == "```":
                stack.pop()
            continue  # nothing inside a code fence is LaTeX
        if token in ("$$", "```"):
            if stack and stack[-1] == token:
                stack.pop()
            else:
                stack.append(token)
        elif token == "\\[" or token.startswith("\\begin"):
            stack.append(token)
        elif token == "\\]" and "\\[" in stack:
            del stack[len(stack) - 1 - stack[::-1].index("\\["):]
        elif token.startswith("\\end"):
            opener = "\\begin" + token[len("\\end"):]
            if opener in stack:
                del stack[len(stack) - 1 - stack[::-1].index(opener):]
    return stack


def paragraphs(text: str) -> list[str]:
    """``text`` cut at every safe paragraph boundary; each piece keeps its trailing separator, so
    ``"".join(paragraphs(text)) == text``."""
    pieces: list[str] = []
    stack: list[str] = []
    start = scanned = 0
    for match in _BLANK_LINES.finditer(text):
        stack = _open_blocks(text[scanned : match.start()], stack)
        scanned = match.start()
        if stack:
            continue  # inside a display block or code fence: not a boundary
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text) or not pieces:
        pieces.append(text[start:])
    return pieces


def split_chunks(text: str, max_chars: int) -> list[str]:
    """``text`` in consecutive chunks of at most ``max_chars`` characters, cut only at safe
    paragraph boundaries (a single paragraph longer than ``max_chars`` stays whole)."""
    if max_chars <= 0:
        raise ValueError("max_chars must be positive")
    chunks: list[str] = []
    current = ""
    for piece in paragraphs(text):
        if current and len(current) + len(piece) > max_chars:
            chunks.append(current)
            current = ""
        current += piece
    if current or not chunks:
        chunks.append(current)
    return chunks


def join_chunks(chunks: list[str]) -> str:
    """Translated chunks as one text, one blank line between them (translators drop trailing
    whitespace)."""
    return "\n\n".join(chunk.strip("\n") for chunk in chunks)
