"""Security Level Objectives: OpenSLO v1 files, their resolution into objectives, and the starter set."""
