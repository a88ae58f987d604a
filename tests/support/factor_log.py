"""A tiny hand-made log (five products, six offers, six order rows) whose factors the
explain and store tests work out by hand."""

from __future__ import annotations

import pandas as pd

T = pd.Timestamp

PRODUCTS = pd.DataFrame({
    "product_id": ["r1", "r2", "i1", "i2", "x"],
    "title": ["lego castle", "lego ship", "lego car", "shampoo bottle", "cat food"],
    "category": ["toys", "toys", "toys", "beauty", None],
    "price": [10.0, 40.0, 5.0, None, 3.0],
    "brand": ["lego", "lego", "lego", "dove", None],
    "product_type": ["bricks", "bricks", "bricks", "shampoo", "food"],
})
OFFERS = pd.DataFrame({
    "offer_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
    "request_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
    "timestamp": [T("2024-01-02"), T("2024-01-03"), T("2024-01-03"), T("2024-01-04"),
                  T("2024-01-05"), T("2024-01-06")],
    "user_id": ["u1", "u1", "u2", "u1", "u2", "u2"],
    "query": ["lego", "lego", "lego", "lego", "lego", "lego set for kids age five"],
    "query_length": [1, 1, 1, 1, 1, 6],
    "product_id": ["i1", "i1", "r1", "i2", "x", "i1"],
    "position": [1] * 6,
    "engaged": [True, False, True, False, False, False],
    "purchased": [True, False, True, False, False, False],
    "propensity": [None] * 6,
})
JUDGMENTS = pd.DataFrame({
    "query": ["lego"] * 4 + ["lego set for kids age five"],
    "product_id": ["r1", "r2", "i1", "i2", "i1"],
    "label": ["1", "1", "0", "0", "0"],
    "annotator_id": ["a1"] * 5,
})
ORDERS = pd.DataFrame({
    "order_id": ["a", "a", "b", "b", "c", "o3"],
    "user_id": ["u3", "u3", "u1", "u1", "u2", "u2"],
    "product_id": ["i1", "r1", "i1", "r2", "i2", "r1"],
    # order b comes later on the day of o1; order "o3" is offer o3's purchase logged again
    "timestamp": [T("2023-12-01")] * 2 + [T("2024-01-02 12:00")] * 2 + [T("2024-01-10"),
                                                                        T("2024-01-03")],
})
