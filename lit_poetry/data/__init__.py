"""Data pipeline: corpus files -> poems -> cleaned text -> ids -> padded batches."""
