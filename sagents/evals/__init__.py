"""Evaluations that need no LLM: golden traces of the shipped flow
(``sage eval golden``)."""
