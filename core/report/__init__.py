"""Reports: Markdown and HTML with figures."""
