"""The append-only trigger lets exactly one UPDATE through: retention's pseudonymisation
(person replaced by a pseudonym, scores and the client request id dropped, nothing else)."""

from django.db import migrations

# "%%": the SQL goes through the driver's parameter formatting, which unescapes it.
CREATE = """
CREATE OR REPLACE FUNCTION access_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.person_id IS NULL AND NEW.pseudonym <> ''
       AND NEW.score IS NULL AND NEW.threshold IS NULL
       AND (NEW.id, NEW.created_at, NEW.access_point_id, NEW.area_id, NEW.decision, NEW.reason,
            NEW.rule_id, NEW.visitor_pass_id, NEW.mode, NEW.model_version, NEW.detail,
            NEW.request_hash, NEW.liveness::text)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.created_at, OLD.access_point_id, OLD.area_id, OLD.decision, OLD.reason,
            OLD.rule_id, OLD.visitor_pass_id, OLD.mode, OLD.model_version, OLD.detail,
            OLD.request_hash, OLD.liveness::text)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'access events are append-only (%% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""
STRICT = """
CREATE OR REPLACE FUNCTION access_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'access events are append-only (%% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STRICT)


class Migration(migrations.Migration):
    dependencies = [("access_control", "0004_accessevent_pseudonym")]

    operations = [migrations.RunPython(forwards, backwards)]
