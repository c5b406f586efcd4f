"""Delivery: what to send where (``routing``), the outbox sender, and the console sink."""
