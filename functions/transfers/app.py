"""TransfersFunction: POST /sessions/{session_id}/fork, GET /sessions/{session_id}/export and
POST /sessions/import (its routes: chat_sessions.transfers_routes)."""

from chat_sessions.http_function import init_done, lambda_handler_for
from chat_sessions.transfers_routes import app

# It issues no list cursors: it does not get the cursor key.
lambda_handler = lambda_handler_for(app, needs_cursor_key=False)
init_done()
