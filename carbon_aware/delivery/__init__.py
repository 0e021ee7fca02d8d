"""The compiled template run locally, submitted to Vertex AI, uploaded, and the project set up."""
