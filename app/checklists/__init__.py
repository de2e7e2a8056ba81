"""The ESG Part 1 checklist: items from policies/esg_part1.yaml, answered per subject (a proposal; a periodic
review later), with automatic checks, evidence, and the gate on a body's decision."""
