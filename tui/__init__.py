"""The faces of dltui: the Textual dashboard and the Typer command line."""
