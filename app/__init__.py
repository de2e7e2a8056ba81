"""Quality-assurance workflow engine for micro-credentials."""
