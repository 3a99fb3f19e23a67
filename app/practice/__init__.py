"""Practice history, FSRS review cards and the learner's dashboard (issue 7)."""
