"""Text to vectors: the embedder protocol, the test embedder and the model backends."""
