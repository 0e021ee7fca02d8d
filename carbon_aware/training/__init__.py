"""The user's own training, wrapped: Vertex's contract, the run itself measured, replicas collected.

Any program that follows Vertex AI's custom-training contract (write the model to
``AIP_MODEL_DIR``, optionally ``metrics.json`` beside it) runs the same way locally (a subprocess
of the train step) and on Vertex AI (a custom job in the chosen region, one worker pool or two).
"""
