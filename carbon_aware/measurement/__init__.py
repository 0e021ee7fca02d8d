"""Measuring a training run's energy: CodeCarbon, RAPL and NVML where present, else estimates."""
