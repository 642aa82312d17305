"""Session-wide test setup."""
import os

# scikit-learn's check_estimator runs its array-API input check only when
# SciPy's array-API support is on, which SciPy reads once, at import: set it
# before any test module imports SciPy (tests only; the package never sets it).
os.environ.setdefault("SCIPY_ARRAY_API", "1")
