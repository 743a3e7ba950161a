"""Risk quantification: Monte Carlo annual loss per scenario, security next to outages, treatment value."""
