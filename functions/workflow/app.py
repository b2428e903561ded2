"""WorkflowFunction: /sessions/{session_id}/workflow..., and POST /sessions/{session_id}/turns
(its routes: chat_sessions.workflow_routes)."""

from chat_sessions.http_function import init_done, lambda_handler_for
from chat_sessions.workflow_routes import app

lambda_handler = lambda_handler_for(app)
init_done()
