"""Pages from the data: one context per page, the message catalogues, the Jinja2 templates,
and the atomic write of the site."""
