"""Logger, Metrics and Tracer, made once and imported everywhere."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

# A read answers with no metric to publish; that is expected, not worth a warning per call.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="chat-sessions")
metrics = Metrics(namespace="ChatSessions", service="chat-sessions")
