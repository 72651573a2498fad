"""The HTTP API's routers, one per resource: answers (search, chat, completions,
eligibility), feedback, staff (documents, uploads, jobs, records, the page's staff sign-in)
and health. Each route receives the Runtime through a dependency (guards.Served)."""
