"""`seclo serve`: the HTTP server for /metrics and the Alertmanager webhook (see docs/prometheus.md)."""

from seclo.server.app import SecloServer, serve

__all__ = ["SecloServer", "serve"]
