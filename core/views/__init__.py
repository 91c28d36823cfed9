"""What the CLI and the dashboard show: listings, comparisons, logs."""
