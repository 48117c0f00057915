"""Ridge regression on polynomial features, in closed form."""
import numpy as np

x = np.linspace(0, 1, 50)
y = np.sin(2 * np.pi * x)
degree = 5
Phi = np.vander(x, degree + 1)
lam = 1e-3
w = np.linalg.solve(Phi.T @ Phi + lam * np.eye(degree), Phi.T @ y)  # ROOT
