"""Documents in: read files of every format, clean them, split sentences, pack chunks."""
