"""Client text made safe to use: NFKC, no invisible characters, bounded length.

A query of one zero-width space is blank to a person but not to ``str.strip``; a title full
of format characters (zero-width joiners, bidi overrides, soft hyphens: Unicode category Cf)
or control characters splits or hides words differently from what a reader sees; NFKC folds
the compatibility forms (full-width letters, ligatures) users type by accident. NFKC can
lengthen a text (one character may become up to 18), so the length is capped after it.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_text"]

# Cc other than tab/newline: control characters, made spaces. (Format characters, Cf, are
# removed character by character: only non-ASCII texts pay for it.)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_PLAIN = re.compile(r"[\x20-\x7e]*")


def clean_text(text: str, max_chars: int) -> str:
    """``text`` in NFKC with format characters removed, control characters made spaces, and
    at most ``max_chars`` characters.

    >>> clean_text("\\u200bＬｅｇｏ\\u00adcar\\x07", 100)
    'Legocar '
    """
    if _PLAIN.fullmatch(text):  # printable ASCII, the usual case: nothing to do
        return text[:max_chars]
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if ch.isascii() or unicodedata.category(ch) != "Cf")
    text = _CONTROL.sub(" ", text)
    return text[:max_chars]
