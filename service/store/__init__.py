"""Persistence: SQLite by default, PostgreSQL by DATABASE_URL (SQLAlchemy Core)."""
