"""The demo admin, the named demo people, a kiosk and a lobby door with its rules, for
``make run`` (``faceauth.demo.bootstrap``). Idempotent."""

from django.core.management.base import BaseCommand

from faceauth import demo
from faceauth.demo.people import ADMIN_USERNAME, PASSWORD


class Command(BaseCommand):
    help = "Create a demo admin, people of every role, a kiosk and a door with access rules."

    def handle(self, *args, **options) -> None:
        made = demo.bootstrap()
        for name, token in made.tokens.items():
            self.stdout.write(f"{name} token (shown once; pair a screen with it): {token}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo admin: {ADMIN_USERNAME} / {PASSWORD}  ·  other demo people: "
                f"{', '.join(made.people)} / {PASSWORD}"
            )
        )
