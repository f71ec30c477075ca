"""Figures: arrays in, PNG files out; matplotlib is imported lazily with the Agg backend."""
