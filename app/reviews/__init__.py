"""Periodic reviews of published micro-credentials: monitoring reports and full reviews, their schedule, the
self-evaluation, the QA office's assessment and outcome, and the micro-credential's standing (active, under review,
suspended, retired)."""
