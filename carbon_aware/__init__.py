"""Carbon-aware training on Vertex AI Pipelines: where to train, and what it cost the climate."""

__version__ = "0.1.0"
