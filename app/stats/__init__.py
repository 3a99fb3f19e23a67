"""Statistics over completed attempts: pure functions and accumulators, no web or database."""
