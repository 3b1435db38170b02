__version__ = "0.1.0"
"""ruvllm: a self-learning orchestration layer for small language models.

The public names are re-exported here. Light modules (config, types) are imported eagerly;
heavy ones (numba, llama.cpp) are imported on first use, so `import ruvllm` stays fast.
"""
# This file is maintained by hand (nbdev only rewrites the `__version__` line above).
from .config import Config, ConfigBuilder, ConfigError, RuvLLMError
from .types import (ModelTier, NodeType, EdgeType, Constraints, Request, Source, RoutingInfo, LatencyBreakdown,
                    Response, Feedback, Session, Turn, InvalidInputError, EmbeddingError, VectorIndexError,
                    MemoryStoreError, RouterError, InferenceError, ModelNotFoundError, BackendUnavailableError,
                    ContextOverflowError, UnknownIdError, OverloadedError)

# name -> module, imported lazily on first attribute access (PEP 562)
_LAZY = {'RuvLLM': '.orchestrator', 'Memory': '.memory', 'HNSWIndex': '.hnsw', 'make_embedder': '.embedding',
         'FastGRNNRouter': '.router', 'ModelPool': '.inference', 'SemanticCache': '.cache', 'GraphAttention': '.attention'}

def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'ruvllm' has no attribute {name!r}")

__all__ = ['Config', 'ConfigBuilder', 'ConfigError', 'RuvLLMError', 'ModelTier', 'NodeType', 'EdgeType', 'Constraints',
           'Request', 'Source', 'RoutingInfo', 'LatencyBreakdown', 'Response', 'Feedback', 'Session', 'Turn',
           'InvalidInputError', 'EmbeddingError', 'VectorIndexError', 'MemoryStoreError', 'RouterError', 'InferenceError',
           'ModelNotFoundError', 'BackendUnavailableError', 'ContextOverflowError', 'UnknownIdError', 'OverloadedError',
           *_LAZY]
