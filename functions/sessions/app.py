"""SessionsFunction: POST/GET /sessions, GET/PATCH/DELETE /sessions/{id}, POST .../end,
and GET /openapi.json (its routes: chat_sessions.sessions_routes)."""

from chat_sessions.http_function import init_done, lambda_handler_for
from chat_sessions.sessions_routes import app

lambda_handler = lambda_handler_for(app)
init_done()
