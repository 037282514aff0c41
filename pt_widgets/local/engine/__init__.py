"""Local inference engine: loads real models and serves them with dynamic batching.

Public interface (the serving layer codes against these names):

* :class:`ModelSource` - what to load (GGUF file, transformers dir, MLflow artifact dir,
  sentence-transformers folder) and which task it answers.
* :func:`inspect_source` - cheap metadata without loading weights.
* :func:`load_replica` - load once per process, returns a :class:`Replica` whose async
  methods (``chat``, ``chat_stream``, ``completions``, ``completions_stream``,
  ``embeddings``) batch concurrent requests on one worker thread.
* :func:`measure_throughput` - tokens/s one replica serves under concurrent load.

Generation engines share one interface and loop (``loop.py``: continuous batching, sampling,
text, stop strings): ``llamacpp.py`` runs GGUF files as they are (the default for them when
llama-cpp-python is installed), ``generation.py`` runs transformers models in torch (MLflow
safetensors, and the fp32 reference). ``PT_WIDGETS_ENGINE`` (auto | torch | llama.cpp)
overrides the choice. Embeddings: ``embedding.py``.
"""

from .calibration import measure_throughput
from .loading import load_replica
from .replica import Replica
from .sources import MAX_SERVED_CONTEXT, ModelSource, inspect_source

__all__ = [
    "MAX_SERVED_CONTEXT",
    "ModelSource",
    "Replica",
    "inspect_source",
    "load_replica",
    "measure_throughput",
]
