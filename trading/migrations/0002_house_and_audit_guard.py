"""The house sub-account, and a trigger that keeps the audit log append-only."""

from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION trading_auditlog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER trading_auditlog_append_only
    BEFORE UPDATE OR DELETE ON trading_auditlog
    FOR EACH ROW EXECUTE FUNCTION trading_auditlog_append_only();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS trading_auditlog_append_only ON trading_auditlog;
DROP FUNCTION IF EXISTS trading_auditlog_append_only();
"""


def create_house(apps, schema_editor):
    SubAccount = apps.get_model("trading", "SubAccount")
    SubAccount.objects.get_or_create(is_house=True, defaults={"name": "house", "code": "house000"})


def delete_house(apps, schema_editor):
    apps.get_model("trading", "SubAccount").objects.filter(is_house=True, code="house000").delete()


class Migration(migrations.Migration):
    dependencies = [("trading", "0001_initial")]

    operations = [
        migrations.RunPython(create_house, delete_house),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
