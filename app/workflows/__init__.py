"""State machines: the only code that changes a status. One class per process."""
