"""Serving: the app, the runtime built once, access and limits, records, logs, background jobs, the page."""
