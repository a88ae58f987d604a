"""The one tokenizer of product and query text, for the ranking features and the relations.

Text is normalised with Unicode NFKC (full-width letters and digits become ASCII, ligatures
split) and casefolded, then cut into ``\\w+`` words, so é, ñ, ü and every script keep their
letters. Scripts written without spaces (Chinese, Japanese kana and kanji, Korean, Thai) have
no words to cut: a run of their characters becomes overlapping character bigrams, the usual
index unit for CJK search (Lucene's CJKAnalyzer does the same). Stems come from the Snowball
stemmer of the data's language (PyStemmer); languages without one keep the words as they are.

It sits at the bottom of the layers (it imports nothing of seemingly), so ``explain`` and
``ranking`` share it and cannot drift apart.

>>> tok = Tokenizer("spanish")
>>> tok.tokens("Zapatillas de Niño, talla 32")
['zapatillas', 'de', 'niño', 'talla', '32']
>>> tok.stems(["zapatillas", "niño"])
['zapatill', 'niñ']
>>> Tokenizer("japanese").tokens("東京タワー 2個")
['東京', '京タ', 'タワ', 'ワー', '2', '個']
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

__all__ = ["LANGUAGES", "LOCALE_LANGUAGE", "Language", "TOKENIZER_VERSION", "Tokenizer",
           "TokenizerMismatch"]

# Bumped whenever tokens() or stems() give other output for some text: a model fitted with
# one version's vocabulary must not be served with another's.
TOKENIZER_VERSION = 1

# language -> Snowball algorithm (None: no stemmer, words are kept whole)
_SNOWBALL: dict[str, str | None] = {
    "english": "english", "spanish": "spanish", "french": "french", "german": "german",
    "italian": "italian", "portuguese": "portuguese", "dutch": "dutch", "swedish": "swedish",
    "norwegian": "norwegian", "danish": "danish", "finnish": "finnish", "russian": "russian",
    "turkish": "turkish", "arabic": "arabic", "japanese": None, "chinese": None,
    "korean": None, "none": None,
}
LANGUAGES: tuple[str, ...] = tuple(_SNOWBALL)
Language = Literal[
    "english", "spanish", "french", "german", "italian", "portuguese", "dutch", "swedish",
    "norwegian", "danish", "finnish", "russian", "turkish", "arabic", "japanese", "chinese",
    "korean", "none",
]
# ESCI's product_locale (the converter's --locale) -> language
LOCALE_LANGUAGE: dict[str, str] = {"us": "english", "es": "spanish", "jp": "japanese"}

# Characters of scripts written without spaces: CJK ideographs, kana, Hangul, Thai, Lao. After
# NFKC half-width kana are full-width, so the full-width block is enough.
_UNSPACED = ("\u0e00-\u0eff\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
             "\uf900-\ufaff\uac00-\ud7af")
# a run of unspaced characters, or a run of other word characters
_TOKEN = re.compile(rf"[{_UNSPACED}]+|[^\W{_UNSPACED}]+")
_UNSPACED_RUN = re.compile(rf"[{_UNSPACED}]+")


class TokenizerMismatch(ValueError):
    """A saved tokenizer description that this version cannot reproduce."""


def normalize(text: str) -> str:
    """NFKC, then casefold (``"ＡＢＣ Straße"`` -> ``"abc strasse"``)."""
    return unicodedata.normalize("NFKC", text).casefold()


@lru_cache(maxsize=32)
def _stemmer(algorithm: str) -> Any:
    import Stemmer  # PyStemmer: the C Snowball stemmers

    return Stemmer.Stemmer(algorithm)


@dataclass(frozen=True)
class Tokenizer:
    """Unicode words (and CJK bigrams) of a text, and their Snowball stems.

    Parameters
    ----------
    language
        One of :data:`LANGUAGES`; picks the stemmer. Tokens do not depend on it.

    Examples
    --------
    >>> Tokenizer().tokens("Ｔｏｙ CARS for kids")
    ['toy', 'cars', 'for', 'kids']
    >>> Tokenizer().stems(["cars", "running"])
    ['car', 'run']
    """

    language: str = "english"
    _stem: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.language not in _SNOWBALL:
            raise ValueError(f"language {self.language!r} is not known; choose one of "
                             f"{', '.join(LANGUAGES)}")
        algorithm = _SNOWBALL[self.language]
        object.__setattr__(self, "_stem", None if algorithm is None else _stemmer(algorithm))

    def __reduce__(self) -> tuple[Any, ...]:
        # the C stemmer does not pickle; the language is all it takes to rebuild it
        return (Tokenizer, (self.language,))

    def tokens(self, text: str) -> list[str]:
        """The words of ``text`` in order, repeats kept; unspaced runs as bigrams."""
        out: list[str] = []
        for word in _TOKEN.findall(normalize(text)):
            if len(word) > 1 and _UNSPACED_RUN.fullmatch(word):
                out.extend(word[i:i + 2] for i in range(len(word) - 1))
            else:
                out.append(word)
        return out

    def stems(self, tokens: list[str]) -> list[str]:
        """The stem of each token (the token itself without a stemmer, and for bigrams)."""
        if self._stem is None:
            return list(tokens)
        return [t if _UNSPACED_RUN.match(t) else self._stem.stemWord(t) for t in tokens]

    def to_dict(self) -> dict[str, Any]:
        """What a model manifest records, enough to rebuild the same tokenizer."""
        return {"name": "seemingly-unicode", "version": TOKENIZER_VERSION,
                "normalization": "NFKC+casefold", "pattern": "\\w+",
                "unspaced": "char-bigrams", "language": self.language,
                "stemmer": "snowball" if self._stem is not None else "none"}

    @classmethod
    def from_dict(cls, d: Any, *, where: str = "manifest") -> Tokenizer:
        """The tokenizer ``d`` (from :meth:`to_dict`) describes.

        Raises
        ------
        TokenizerMismatch
            ``d`` is missing or names another tokenizer or version.
        """
        if not isinstance(d, dict) or d.get("name") != "seemingly-unicode":
            raise TokenizerMismatch(f"{where} records no tokenizer (written before the Unicode "
                                    "tokenizer); retrain the model with this version")
        if d.get("version") != TOKENIZER_VERSION:
            raise TokenizerMismatch(f"{where} was written with tokenizer version "
                                    f"{d.get('version')!r}, this version has "
                                    f"{TOKENIZER_VERSION}; retrain the model")
        return cls(str(d.get("language", "english")))
