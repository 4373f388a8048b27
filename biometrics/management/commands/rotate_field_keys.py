"""Re-encrypt every encrypted field under the first key of FIELD_ENCRYPTION_KEY.

Deploy the new key first in the list with the old one after it (both decrypt), run this
command, then drop the old key. It is resumable (rows already under the new key are skipped)
and safe while the system serves: each row is swapped with a compare-and-set UPDATE, so a
concurrent write is never overwritten.
"""

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from biometrics.fields import StrictEncryptedTextField, crypter

BATCH = 500


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, pk column, encrypted column) of every StrictEncryptedTextField."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, StrictEncryptedTextField):
                found.append((model._meta.db_table, model._meta.pk.column, field.column))
    return found


def _under_primary(primary: Fernet, token: str) -> bool:
    try:
        primary.decrypt(token.encode())
        return True
    except InvalidToken:
        return False


class Command(BaseCommand):
    help = "Re-encrypt templates and kept images under the first FIELD_ENCRYPTION_KEY."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, default=BATCH)

    def handle(self, *args, batch: int, **options) -> None:
        keys = settings.FIELD_ENCRYPTION_KEY
        keys = [keys] if isinstance(keys, str) else list(keys)
        if not keys:
            raise CommandError("FIELD_ENCRYPTION_KEY is empty")
        primary, rotating = Fernet(keys[0]), crypter()
        qn = connection.ops.quote_name
        for table, pk, column in encrypted_columns():
            rotated = skipped = last = 0
            while True:
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT {qn(pk)}, {qn(column)} FROM {qn(table)} "
                        f"WHERE {qn(pk)} > %s AND {qn(column)} IS NOT NULL "
                        f"ORDER BY {qn(pk)} LIMIT %s",
                        [last, batch],
                    )
                    rows = cursor.fetchall()
                if not rows:
                    break
                for row_pk, token in rows:
                    last = row_pk
                    if _under_primary(primary, token):
                        skipped += 1
                        continue
                    try:
                        new = rotating.rotate(token.encode()).decode()
                    except InvalidToken as exc:
                        raise CommandError(
                            f"{table} {row_pk}: no configured key decrypts it; keep the old key "
                            "in FIELD_ENCRYPTION_KEY"
                        ) from exc
                    with connection.cursor() as cursor:
                        cursor.execute(
                            f"UPDATE {qn(table)} SET {qn(column)} = %s "
                            f"WHERE {qn(pk)} = %s AND {qn(column)} = %s",
                            [new, row_pk, token],
                        )
                        rotated += cursor.rowcount
            self.stdout.write(f"{table}.{column}: {rotated} rotated, {skipped} already current")
        self.stdout.write(self.style.SUCCESS("Rotation complete: the old key can be removed."))
