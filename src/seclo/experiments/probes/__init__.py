"""Built-in probes; third-party probes come from the "seclo.probes" entry point group."""
