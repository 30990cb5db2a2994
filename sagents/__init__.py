"""Sage agents: an asyncio-native multi-agent orchestration library.

The main entry points are ``Runtime`` (the long-lived services), ``SAgent``
(runs one user turn through a flow) and the event models in
``sagents.events``. Import them from their modules; this package keeps its
import light so ``import sagents.events`` does not pull in the HTTP stack.
"""

__version__ = "0.1.0"
