"""Scoring the rows of a DataFrame with a weight per column."""
import numpy as np
import pandas as pd

rng = np.random.default_rng(23)
df = pd.DataFrame(rng.random((40, 3)), columns=["price", "rating", "distance"])
weights = np.array([0.5, 0.3, 0.1, 0.1])  # ROOT
scores = np.dot(df, weights)
ranked = df.assign(score=scores).sort_values("score")
