"""Facts about the hardware Vertex AI runs training on: machines, accelerators and their power."""
