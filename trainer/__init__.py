"""Train, measure and evaluate a small Keras classifier for the carbon-aware pipeline."""
