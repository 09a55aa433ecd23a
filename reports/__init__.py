"""HTML reports rendered with Jinja2 from the One Click warehouse tables."""
