"""Kubernetes: the port and its values (`port`) and the adapter over kubernetes_asyncio (`adapter`)."""
