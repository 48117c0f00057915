"""A Kalman filter update step in a class: the gain has the wrong shape."""
import numpy as np


class Kalman:
    def __init__(self, n):
        self.x = np.zeros(n)
        self.P = np.eye(n)
        self.H = np.eye(2, n)
        self.R = np.eye(2) * 0.1

    def update(self, z):
        S = self.H @ self.P @ self.H.T + self.R
        K = self.P @ self.H.T @ np.linalg.inv(S)
        self.x = self.x + K @ (z - self.H @ self.x)
        self.P = self.P - K @ self.H @ self.P


kf = Kalman(4)
z = np.array([[1.0, 2.0]])  # ROOT
for _ in range(3):
    kf.update(z)
