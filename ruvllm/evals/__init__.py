"""Evaluation sets and experiment code: imported by the bench and the notebooks, never by the request path."""
