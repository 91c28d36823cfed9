"""Optional trackers: imported where used; their absence is one clear line (exit 2)."""

from __future__ import annotations

import importlib
from types import ModuleType

from dltui.errors import UserError

# module -> (what it is, the dltui extra that installs it)
TRACKERS = {
    "mlflow": ("MLflow", "mlflow"),
    "wandb": ("Weights & Biases", "wandb"),
    "yaml": ("PyYAML", "bridges"),
    "sqlalchemy": ("SQLAlchemy (for MLflow's sqlite store)", "mlflow"),
    "alembic": ("alembic (for MLflow's sqlite store)", "mlflow"),
}


def require(module: str, purpose: str) -> ModuleType:
    """The module, or a UserError that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        name, extra = TRACKERS.get(module, (module, module))
        raise UserError(f"{purpose} needs {name}, which is not installed",
                        fix=f"pip install 'dltui[{extra}]' (or pip install {module})") from None
