"""Migration files split into the statements a driver runs one at a time."""

from __future__ import annotations

from remotetask.store.migrate import load_migrations, split_statements


def test_statements_split_at_semicolons_but_not_inside_function_bodies() -> None:
    script = (
        "-- a comment; not a statement\n"
        "CREATE TABLE a (x INT);\n"
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN RAISE EXCEPTION 'no'; END\n"
        "$$;\n"
        "CREATE TRIGGER t BEFORE DELETE ON a FOR EACH STATEMENT EXECUTE FUNCTION f();\n"
    )
    assert split_statements(script) == (
        "CREATE TABLE a (x INT)",
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN RAISE EXCEPTION 'no'; END\n$$",
        "CREATE TRIGGER t BEFORE DELETE ON a FOR EACH STATEMENT EXECUTE FUNCTION f()",
    )


def test_every_shipped_statement_is_whole() -> None:
    for dialect in ("sqlite", "postgresql"):
        for migration in load_migrations(dialect):
            for statement in migration.statements:
                assert statement.count("$$") % 2 == 0, (migration.name, statement)
                assert not statement.endswith(";")
