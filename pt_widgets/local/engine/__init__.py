"""Local inference engine: loads real models and serves them with dynamic batching.

Public interface (the serving layer codes against these names):

* :class:`ModelSource` - what to load (GGUF file, transformers dir, MLflow artifact dir,
  sentence-transformers folder) and which task it answers.
* :func:`inspect_source` - cheap metadata without loading weights.
* :func:`load_replica` - load once per process, returns a :class:`Replica` whose async
  methods (``chat``, ``chat_stream``, ``completions``, ``completions_stream``,
  ``embeddings``) batch concurrent requests on one worker thread.
* :func:`measure_throughput` - tokens/s one replica serves under concurrent load.

Batching design: ``generation.py`` (continuous batching) and ``embedding.py``.
"""

from .calibration import measure_throughput
from .replica import Replica, load_replica
from .sources import MAX_SERVED_CONTEXT, ModelSource, inspect_source

__all__ = [
    "MAX_SERVED_CONTEXT",
    "ModelSource",
    "Replica",
    "inspect_source",
    "load_replica",
    "measure_throughput",
]
