"""Prometheus-native seclo: the /metrics exporter, generated recording and alerting rules, and PromQL as an
SLI source. `seclo.prometheus.names` is the contract the exporter and the rules share."""
