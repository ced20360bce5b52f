"""The kernel: records, errors, settings and the citation protocol. It imports nothing else of ours."""
