"""MessagesFunction, the conversation: messages, rewind, summary and context (its routes:
chat_sessions.messages_routes)."""

from chat_sessions.http_function import init_done, lambda_handler_for
from chat_sessions.messages_routes import app

lambda_handler = lambda_handler_for(app)
init_done()
