"""HTTP ranking service: serve a trained model directory with FastAPI.

``create_app(model_dir)`` builds the app; ``seemingly serve --model DIR`` runs it with uvicorn.
"""

from seemingly.serve.app import create_app, load_model

__all__ = ["create_app", "load_model"]
