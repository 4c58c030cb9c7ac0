"""Where chunks live: versioned directories with records, dense and lexical indexes."""
