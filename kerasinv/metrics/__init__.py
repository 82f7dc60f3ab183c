"""Invariance metrics computed from model predictions."""

from kerasinv.metrics.shift import ShiftResult, centre_crop, random_shift_consistency

__all__ = ["ShiftResult", "centre_crop", "random_shift_consistency"]
