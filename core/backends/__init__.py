"""Where a run executes besides a local subprocess: torchrun on one node, Slurm jobs."""
