"""The app on Kubernetes: its ConfigMap's settings file, its image, and its pod run locally."""
