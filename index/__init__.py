"""Wenda core: documents in, cited answers out. Pure: no web or bot imports."""
