"""Serving: the app (app.py assembles it), the runtime built once, the service both faces
call, access and limits, records, logs, background jobs; api/ the HTTP routers, web/ the page."""
