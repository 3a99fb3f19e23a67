"""The content runtime of one process: the live content store, the published-version sync between
workers, and the reload that validates, swaps, publishes and logs. It may use content and scoring;
services, the API and the web pages use it."""
