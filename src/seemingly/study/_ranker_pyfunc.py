"""The ranker as an MLflow pyfunc model, logged "from code" (MLflow runs this file when it
loads the model), so nothing is pickled: the artifacts are the model directory itself.

Only :func:`seemingly.study.tracking.log_study` names this file; importing it needs mlflow.
"""

from __future__ import annotations

from typing import Any

import mlflow.models
import mlflow.pyfunc
import pandas as pd


class RankerModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc, name-defined]
    """Ranks (query, product_id, ...) rows with the study's saved models; ``params``
    ``weight`` (relevance weight, default 0.5) and ``objective`` (default purchase)."""

    def load_context(self, context: Any) -> None:
        from seemingly.ranking.models import Ranker

        self.ranker = Ranker.load(context.artifacts["models"])

    def predict(self, context: Any, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        params = params or {}
        weight = float(params.get("weight", 0.5))
        objective = str(params.get("objective", "purchase"))
        frames = []
        for query, rows in model_input.groupby("query", sort=False):
            cands: list[dict[str, Any]] = [
                {str(k): v for k, v in r.items()}
                for r in rows.drop(columns=["query"]).to_dict("records")]
            res = self.ranker.rank(str(query), cands, weight=weight,
                                   objective=objective)  # type: ignore[arg-type]
            frames.append(pd.DataFrame({
                "query": str(query), "product_id": list(res.product_ids),
                "rank": range(1, len(res.product_ids) + 1),
                "fused_score": list(res.fused_scores)}))
        if not frames:
            return pd.DataFrame(columns=["query", "product_id", "rank", "fused_score"])
        return pd.concat(frames, ignore_index=True)


mlflow.models.set_model(RankerModel())
