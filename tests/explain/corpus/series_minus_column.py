"""Residuals of a fitted trend: the prediction is a column vector."""
import numpy as np

t = np.arange(24.0)
series = 0.5 * t + np.sin(t)
design = np.column_stack([np.ones_like(t), t])
coef = np.linalg.lstsq(design, series[:, None], rcond=None)[0]
trend = design @ coef
resid = series - trend  # ROOT
seasonal = resid.reshape(4, 6).mean(axis=0)
