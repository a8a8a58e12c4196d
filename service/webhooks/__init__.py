"""Outgoing webhooks: the transactional outbox and the SSRF guard for their URLs."""
