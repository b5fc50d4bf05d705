"""The consultation pages. Thin: parse the request, call a query or a service, render."""
