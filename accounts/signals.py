"""Signals that let higher apps react to account changes without accounts importing them.

Dependencies point one way (accounts <- biometrics <- ...), so offboarding announces itself
and biometrics, which owns the templates, revokes them in its receiver.
"""

from django.dispatch import Signal

# sender=User, person=<User>, actor=<User | None>
person_offboarded = Signal()
