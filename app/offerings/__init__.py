"""Offerings: the runs of a published micro-credential, with their dates and, once they end, their figures."""
