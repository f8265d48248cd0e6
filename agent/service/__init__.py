"""What a long-running service needs: structured logs, a small HTTP server, the health, readiness and
metrics endpoints, and a scrape target for the simulator's metrics."""
