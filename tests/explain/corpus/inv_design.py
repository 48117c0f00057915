"""Normal equations: inverting the design matrix instead of the Gram matrix."""
import numpy as np

rng = np.random.default_rng(11)
X = rng.normal(size=(40, 3))
y = rng.normal(size=40)
XtX_inv = np.linalg.inv(X)  # ROOT
beta = XtX_inv @ X.T @ y
