"""Committee tools: substitutes during a member's leave, watching a proposal, meeting agendas and their minutes."""
