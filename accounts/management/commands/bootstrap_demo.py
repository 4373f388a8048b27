"""Create the demo admin and a few demo people for `make run`. Idempotent."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts import services
from accounts.models import Department, Device, DeviceKind, Role, User

DEMO_ADMIN = ("admin", "faceauth-demo")
DEMO_PASSWORD = "faceauth-demo"


class Command(BaseCommand):
    help = "Create a demo admin, departments, people of every role and a kiosk device."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        username, password = DEMO_ADMIN
        admin = User.objects.filter(username=username).first()
        if admin is None:
            admin = services.onboard_person(
                username=username,
                role=Role.ADMIN,
                display_name="Demo Admin",
                employee_number="A0001",
                password=password,
            )
            admin.is_superuser = True
            admin.save(update_fields=["is_superuser"])
            services.assign_role(person=admin, role=Role.ADMIN)
        ops, _ = Department.objects.get_or_create(code="ops", defaults={"name": "Operations"})
        lab, _ = Department.objects.get_or_create(code="lab", defaults={"name": "Research Lab"})
        now = timezone.now()
        people = [
            ("manager", Role.MANAGER, "Maria Manager", "M0001", ops, {}),
            ("guard", Role.GUARD, "Gustav Guard", "G0001", ops, {}),
            ("alice", Role.EMPLOYEE, "Alice Andersen", "E0001", ops, {}),
            ("bob", Role.EMPLOYEE, "Bob Brown", "E0002", lab, {}),
            (
                "vera",
                Role.VISITOR,
                "Vera Visitor",
                None,
                None,
                {"valid_from": now, "valid_until": now + timedelta(days=1)},
            ),
            (
                "carl",
                Role.CONTRACTOR,
                "Carl Contractor",
                "C0001",
                lab,
                {"valid_from": now, "valid_until": now + timedelta(days=30)},
            ),
        ]
        for username_, role, name, number, dept, extra in people:
            if User.objects.filter(username=username_).exists():
                continue
            services.onboard_person(
                username=username_,
                role=role,
                display_name=name,
                employee_number=number,
                department=dept,
                password=DEMO_PASSWORD,
                pin="1234" if role == Role.EMPLOYEE else None,
                sponsor=admin if role in (Role.VISITOR, Role.CONTRACTOR) else None,
                actor=admin,
                **extra,
            )
        if not Device.objects.filter(name="Demo kiosk").exists():
            _, token = services.register_device(
                name="Demo kiosk", kind=DeviceKind.KIOSK, location="Entrance", actor=admin
            )
            self.stdout.write(f"Demo kiosk token (shown once): {token}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo admin: {username} / {password}  ·  other demo people: "
                f"manager, guard, alice, bob, vera, carl / {DEMO_PASSWORD}"
            )
        )
