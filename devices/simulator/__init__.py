"""The virtual device: a simulated TV app that speaks real control protocols."""
