"""A localhost Kubernetes API emulator for end-to-end tests of dagster-k8s paths (README.md)."""
