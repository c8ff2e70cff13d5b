"""Shift statistics: the figures of a shift, and their live publication to supervisors."""
