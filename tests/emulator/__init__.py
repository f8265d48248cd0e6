"""A Kubernetes API server emulator for tests, and pytest fixtures that start it on 127.0.0.1."""
