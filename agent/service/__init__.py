"""The daemon's runtime around the agent loop: schedules, HTTP endpoints, metrics, structured logs."""
