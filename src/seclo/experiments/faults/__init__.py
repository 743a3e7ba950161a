"""Built-in faults; third-party faults come from the "seclo.faults" entry point group."""
