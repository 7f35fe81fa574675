"""The simulated plant (pure physics), its scenarios and the simulated devices built on it."""
