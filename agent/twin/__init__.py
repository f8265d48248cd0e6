"""The digital twin from the agent's side: what it is built from (manifests or the live cluster, plus the
service graph in Prometheus), written out for review, shown, and calibrated by real game days."""
