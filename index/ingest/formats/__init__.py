"""One module per document format, behind one registry (``registry.READERS``)."""
