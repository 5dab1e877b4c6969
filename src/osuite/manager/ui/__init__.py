"""The Manager's templates and static files."""
