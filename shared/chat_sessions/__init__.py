"""The chat session service's Lambda layer: models, store, service logic and HTTP glue."""
