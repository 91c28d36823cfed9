"""Other tools: TensorBoard."""
