"""Fixed wording of the report: hypothesis titles, the paper's findings, glossary, notes."""

from __future__ import annotations

HYPOTHESES: dict[str, dict[str, str]] = {
    "popularity": {
        "title": "Popularity",
        "question": "Are popular irrelevant products bought and engaged with more?",
        "paper": "yes: popular irrelevant products sell more",
        "expected": "+",
        "axis": "popularity percentile",
    },
    "price": {
        "title": "Price",
        "question": "Do irrelevant products cheaper than the relevant ones sell better?",
        "paper": "yes: cheaper than the relevant products sells more (negative estimate)",
        "expected": "-",
        "axis": "log2(price / median relevant price)",
    },
    "category": {
        "title": "Category",
        "question": "Are customers more tolerant of irrelevant results in some categories?",
        "paper": "yes: flexible (toys, digital) more than strict (beauty, grocery)",
        "expected": "",
        "axis": "category",
    },
    "query_length": {
        "title": "Query length",
        "question": "Do very short or unusually long queries end in irrelevant purchases more?",
        "paper": "yes: U-shaped, short and long queries above medium ones",
        "expected": "U",
        "axis": "query length (tokens)",
    },
    "semantic_relation": {
        "title": "Semantic relation",
        "question": (
            "Is an irrelevant product that is textually close to the relevant ones bought more?"
        ),
        "paper": "yes: indirectly related products (same type, brand, category) sell more",
        "expected": "+",
        "axis": "similarity to the relevant products",
    },
    "copurchase_relation": {
        "title": "Co-purchase relation",
        "question": (
            "Is an irrelevant product often bought together with the relevant ones bought more?"
        ),
        "paper": "yes: complementary products sell more",
        "expected": "+",
        "axis": "co-purchase strength with the relevant products",
    },
    "personal_history": {
        "title": "Personal history",
        "question": "Does a customer buy an irrelevant product they (or its brand) bought before?",
        "paper": "yes: past purchases of the product (and brand) raise the chance",
        "expected": "+",
        "axis": "bought before",
    },
}

SUB_EFFECTS = {
    "short": "short vs medium queries",
    "long": "long vs medium queries",
    "brand": "same brand bought before",
}

DIRECTIONS = {"+": "↑ raises", "-": "↓ lowers", "0": "no clear effect"}

STRATEGIES: dict[str, str] = {
    "optimal": "per query, the product with the highest observed level (an upper bound)",
    "relevant": "a product judged relevant for the query",
    "irrelevant": "a product judged irrelevant for the query",
    "random": "any offered product, chosen at random",
    "worst": "per query, the product with the lowest observed level (a lower bound)",
}

GLOSSARY: dict[str, str] = {
    "purchase level": "purchases divided by offers of a product for a query (PL)",
    "engagement level": "engagements (add to cart, purchase, ...) divided by offers (EL)",
    "irrelevant": "judged not relevant to the query by human annotators (majority label)",
    "CI": "95% confidence interval: the range of values consistent with the data",
    "p": "p-value: chance of an effect at least this large if there were none",
    "p (Holm)": "p-value corrected for testing several hypotheses at once (Holm step-down)",
    "univariate": "the factor alone, as in the paper's curves",
    "multivariable": "the factor with all other factors held fixed (clustered logistic regression)",
    "Pareto front": (
        "the weights of one method that no other weight of that method beats on both relevance "
        "and the outcome"
    ),
    "hypervolume": "area under a front; larger means better trade-offs overall",
}
