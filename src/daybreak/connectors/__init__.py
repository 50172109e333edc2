"""Connectors: Daybreak's conversations with other systems over the network (NCMEC's
CyberTipline Reporting API; NATS JetStream and webhooks). Execution-layer code: they use
the store for their durable state; nothing below them imports them. See
docs/operations.md for their configuration and retry semantics."""
