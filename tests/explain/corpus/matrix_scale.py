"""Scaling each entry of a matrix of ratings by a matrix of weights (np.matrix)."""
import numpy as np

ratings = np.matrix([[4.0, 3.0, 5.0], [2.0, 5.0, 1.0]])
weights = np.matrix([[0.5, 1.0, 1.0], [1.0, 0.5, 1.0]])
weighted = ratings * weights  # ROOT
relative = weighted / ratings
