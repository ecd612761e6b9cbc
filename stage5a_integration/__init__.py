"""Stage 5a: export, a REST and gRPC service, an app that uses it."""
