"""One router per resource: rank, model, health."""
