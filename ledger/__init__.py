"""The application: the eventsourcing Application, persistence settings, queries, integrity."""
