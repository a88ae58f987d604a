"""One Unicode tokenizer for features and relations: NFKC, casefold, \\w+, Snowball stems by
language, character bigrams for scripts without spaces. The titles below are hand-made in the
style of ESCI's Spanish and Japanese locales."""

from __future__ import annotations

import copy
import pickle

import pandas as pd
import pytest

from seemingly.explain.relations import semantic_similarity
from seemingly.ranking.features import FeatureSnapshot, compute_features
from seemingly.text import LANGUAGES, Tokenizer, TokenizerMismatch

ES = [  # (query, a title customers would judge exact, an unrelated title)
    ("zapatillas niño", "Zapatillas Deportivas para Niños, Talla 32", "Cafetera italiana 6 tazas"),
    ("funda móvil", "Funda para Móviles Samsung Galaxy, Silicona", "Cepillo de dientes eléctrico"),
    ("cámara acción", "Cámaras de Acción 4K Sumergible", "Libro de cocina española"),
]
JP = [
    ("ワイヤレスイヤホン", "【2024年】ワイヤレスイヤホン Bluetooth5.3 高音質", "象印の水筒 500ml"),
    ("ｉｐｈｏｎｅ ケース", "iPhone 15 ケース 手帳型 レザー", "猫用 爪とぎ 段ボール"),
    ("水筒", "象印 水筒 ステンレスマグ 480ml", "ワイヤレスマウス 静音"),
]


def test_words_keep_every_letter() -> None:
    tok = Tokenizer("spanish")
    assert tok.tokens("Jamón Ibérico, 100% bellota") == ["jamón", "ibérico", "100", "bellota"]
    assert Tokenizer("german").tokens("Größe ÜBER") == ["grösse", "über"]  # casefold ß -> ss
    # NFKC: full-width letters and digits, the ligature ﬁ
    assert Tokenizer().tokens("ＡＢＣ ２０ ﬁlter") == ["abc", "20", "filter"]


def test_unspaced_scripts_become_bigrams() -> None:
    tok = Tokenizer("japanese")
    assert tok.tokens("水筒") == ["水筒"]
    assert tok.tokens("東京タワー") == ["東京", "京タ", "タワ", "ワー"]
    assert tok.tokens("猫 A4用紙") == ["猫", "a4", "用紙"]  # one character stays a token
    assert tok.stems(["水筒", "ケース"]) == ["水筒", "ケース"]  # no Japanese stemmer


@pytest.mark.parametrize(("language", "samples"), [("spanish", ES), ("japanese", JP)])
def test_esci_titles_match_their_queries(language: str, samples: list) -> None:  # type: ignore[type-arg]
    tok = Tokenizer(language)
    for query, title, other in samples:
        q, t, o = (set(tok.stems(tok.tokens(x))) for x in (query, title, other))
        assert q and t and o
        assert q <= t, (query, title)  # every query stem is in the matching title
        assert not q & o, (query, other)


@pytest.mark.parametrize(("language", "samples"), [("spanish", ES), ("japanese", JP)])
def test_features_rank_the_matching_title_first(language: str, samples: list) -> None:  # type: ignore[type-arg]
    catalog = pd.DataFrame({
        "product_id": [f"p{i}" for i in range(2 * len(samples))],
        "title": [t for _, t, _ in samples] + [o for _, _, o in samples],
        "category": "unknown", "price": 10.0})
    snap = FeatureSnapshot.from_catalog(catalog, language=language)
    for i, (query, _, _) in enumerate(samples):
        rows = pd.DataFrame({"query": query, "product_id": [f"p{i}", f"p{i + len(samples)}"]})
        f = compute_features(rows, snap)
        assert f.loc[0, "fuzzy_coverage"] == 1.0 and f.loc[1, "fuzzy_coverage"] == 0.0, query
        assert f.loc[0, "bm25"] > 0 and f.loc[1, "bm25"] == 0, query
        assert f.loc[0, "head_match"] == 1.0, query


def test_relations_split_text_like_the_features() -> None:
    # Under the old \b\w+\b pattern each Japanese title was one or two long "words", so two
    # titles sharing 水筒 had no term in common.
    products = pd.DataFrame({"product_id": ["a", "b", "c"],
                             "title": ["象印の水筒ステンレス", "サーモス水筒", "猫用爪とぎ"]})
    pairs = pd.DataFrame({"product_a": ["a", "a"], "product_b": ["b", "c"]})
    sim = semantic_similarity(pairs, products).similarity.tolist()
    assert sim[0] > 0 and sim[1] == 0


def test_manifest_form_round_trips_and_refuses_others() -> None:
    tok = Tokenizer("spanish")
    assert Tokenizer.from_dict(tok.to_dict()) == tok
    assert pickle.loads(pickle.dumps(tok)).stems(["niños"]) == ["niñ"]
    assert copy.deepcopy(tok) == tok
    with pytest.raises(TokenizerMismatch, match="records no tokenizer"):
        Tokenizer.from_dict(None)
    with pytest.raises(TokenizerMismatch, match="version 0"):
        Tokenizer.from_dict({**tok.to_dict(), "version": 0})
    with pytest.raises(ValueError, match="klingon.*english"):
        Tokenizer("klingon")
    assert "japanese" in LANGUAGES and "spanish" in LANGUAGES


def test_snapshot_saves_its_tokenizer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    catalog = pd.DataFrame({"product_id": ["a"], "title": ["Zapatillas"], "category": "x",
                            "price": 1.0})
    snap = FeatureSnapshot.from_catalog(catalog, language="spanish")
    snap.save(tmp_path)
    assert FeatureSnapshot.load(tmp_path).tokenizer == Tokenizer("spanish")


def test_esci_locale_sets_the_language_the_study_reads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from seemingly.adapters.registry import convert
    from seemingly.errors import ContractError
    from seemingly.store import dataset_language

    src = tmp_path / "src"
    src.mkdir()
    pd.DataFrame({"example_id": [0, 1], "query": ["zapatillas niño", "red shoes"],
                  "query_id": [1, 2], "product_id": ["A", "B"], "product_locale": ["es", "us"],
                  "esci_label": ["E", "E"], "small_version": 1, "large_version": 1,
                  "split": "train"}).to_parquet(src / "shopping_queries_dataset_examples.parquet")
    pd.DataFrame({"product_id": ["A", "B"], "product_title": ["Zapatillas Niños", "Red shoe"],
                  "product_description": None, "product_bullet_point": None,
                  "product_brand": "Acme", "product_color": None,
                  "product_locale": ["es", "us"]}).to_parquet(
        src / "shopping_queries_dataset_products.parquet")
    convert("esci", src, tmp_path / "es", locale="es")
    assert dataset_language(tmp_path / "es") == "spanish"
    convert("esci", src, tmp_path / "us")
    assert dataset_language(tmp_path / "us") == "english"
    assert dataset_language(tmp_path / "nowhere") is None
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "dataset.json").write_text('{"language": "klingon"}')
    with pytest.raises(ContractError, match="dataset.json: language 'klingon'"):
        dataset_language(tmp_path / "bad")
