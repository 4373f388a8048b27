"""Demo history for the dashboards (``faceauth.demo.seed``). Idempotent: it does nothing when
generated people exist."""

import time

from django.core.management.base import BaseCommand

from faceauth import demo


class Command(BaseCommand):
    help = "Generate a site's demo history through the services (skips when already seeded)."

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=30)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--seed", type=int, default=7, help="random seed (deterministic)")

    def handle(self, *args, **options) -> None:
        if demo.already_seeded():
            self.stdout.write("Demo data already seeded; nothing to do.")
            return
        started = time.monotonic()
        counts, tokens = demo.seed(
            count=options["people"], days=options["days"], seed=options["seed"]
        )
        for name, token in tokens.items():
            if options["verbosity"] > 1:
                self.stdout.write(f"{name} token (shown once): {token}")
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        seconds = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"Seeded in {seconds:.1f} s: {summary}"))
