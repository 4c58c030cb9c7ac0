"""Questions out: retrieve candidates, rerank them and compose the cited answer."""
