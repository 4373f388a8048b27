"""Django's flush, with the append-only DELETE triggers set aside on SQLite (see
accounts.append_only.flushing). TransactionTestCase flushes through this command."""

from django.core.management.commands import flush
from django.db import connections

from accounts.append_only import flushing


class Command(flush.Command):
    def handle(self, **options):
        with flushing(connections[options["database"]]):
            return super().handle(**options)
