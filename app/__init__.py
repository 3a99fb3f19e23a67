"""Mianjing (面经): interview practice for deep-learning and computer-vision algorithm roles."""
