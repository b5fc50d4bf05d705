"""Indexes the FHIR Patient search needs on PostgreSQL (measured in bench/fhir.py: without
them ``family``/``name`` and ``birthdate`` searches scan the whole master patient index).

They sit on the patients app's table but serve this app's search parameters: the prefix
match of FHIR string search (``LIKE 'x%'``) needs pattern-ops indexes, which Django's
``Meta.indexes`` cannot spell without opclasses on an expression. SQLite (the embedded
mode, small by design) gets none.
"""

from django.db import migrations

INDEXES = [
    ("fhir_patient_name_prefix", "(name varchar_pattern_ops)"),
    ("fhir_patient_pinyin_prefix", "(UPPER(name_pinyin::text) text_pattern_ops)"),
    ("fhir_patient_birth_date", "(birth_date)"),
]


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, columns in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON patients_patient {columns}")


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _columns in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("fhir", "0001_initial"),
        ("patients", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
