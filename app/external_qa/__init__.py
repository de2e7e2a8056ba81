"""The institution's external quality assurance (ESG 1.10): the agency, its decision, the next review, the DEQAR
report; the source of every proposal's and catalogue entry's "type of quality assurance" element."""
