"""Exports of a transition system for other model checkers (SPIN)."""
