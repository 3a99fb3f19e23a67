"""Item statistics kept as running aggregates of finished interviews, and 纠错 problem reports (issue 20)."""
