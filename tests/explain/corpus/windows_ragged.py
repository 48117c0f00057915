"""Sliding windows over a time series: np.array() complains about an inhomogeneous shape."""
import numpy as np

series = np.sin(np.linspace(0, 10, 103))
width, step = 10, 10
windows = [series[i:i + width] for i in range(0, len(series), step)]  # ROOT
X = np.array(windows)
