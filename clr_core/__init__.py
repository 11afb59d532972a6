"""CLR Studio's engine: learning-rate schedules, range tests, training runs and jobs.

Importable and testable without Streamlit; the app's pages only draw what it returns.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
