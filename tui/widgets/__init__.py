"""The dashboard widgets, one a module; what each draws is a pure function."""
