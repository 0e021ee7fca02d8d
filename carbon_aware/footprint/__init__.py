"""The footprint arithmetic: energy x PUE x intensity over the run window, embodied share, SCI."""
