"""Dagit tooling: ``flights-dagit`` (Dagit with its websocket on wsproto) and ``make dagit`` (Dagit + daemon)."""
