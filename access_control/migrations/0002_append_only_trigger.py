"""On PostgreSQL the database itself refuses UPDATE and DELETE of access events, so raw SQL
cannot rewrite the log either. TRUNCATE (test flushes) is not a row operation and still works.
SQLite gets no trigger: Django's SQLite flush and table rebuilds use DELETE and copies."""

from django.db import migrations

# "%%": the SQL goes through the driver's parameter formatting, which unescapes it.
CREATE = """
CREATE OR REPLACE FUNCTION access_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'access events are append-only (%% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS access_event_append_only ON access_control_accessevent;
CREATE TRIGGER access_event_append_only
    BEFORE UPDATE OR DELETE ON access_control_accessevent
    FOR EACH ROW EXECUTE FUNCTION access_event_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS access_event_append_only ON access_control_accessevent;
DROP FUNCTION IF EXISTS access_event_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("access_control", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
