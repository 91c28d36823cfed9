"""The dashboard screens, one a module."""
