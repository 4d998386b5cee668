"""The HTTP layer: pages (Jinja2, server-rendered) and the JSON API, over web.services."""
