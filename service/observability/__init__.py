"""What agentq says about itself: log lines, Prometheus metrics, queue depths."""
