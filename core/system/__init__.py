"""What the machine did during a run: CPU, memory, I/O and GPU use, sampled by the runner."""
