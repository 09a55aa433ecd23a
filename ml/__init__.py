"""Decline-risk model for the One Click warehouse: training, scoring, explanations."""
