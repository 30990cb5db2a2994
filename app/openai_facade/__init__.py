"""Sage as an OpenAI chat completions "model" (``/v1/chat/completions``).

``profiles`` names the models, ``wire`` is the request and response shapes,
``conversation`` turns a client's messages into a run, ``reasoning`` renders
Sage's steps as the text clients show as thinking, ``completion`` folds a
run's events into chunks or one completion. The routes are in
``app.routes.openai_compat``.
"""
