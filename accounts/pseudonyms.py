"""The pseudonym of a person, one definition for every log that outlives its link to a person.

A keyed hash of the person id with one purpose string: the same person has the same pseudonym
in the clock events, the corrections and the door events (joinable for reports), and without
SECRET_KEY nobody can map it back (pseudonymisation, not anonymisation). See docs/privacy.md.
"""

from django.utils.crypto import salted_hmac

PURPOSE = "faceauth.person-pseudonym"
LENGTH = 22  # "p-" + 80 bits in hex: fits every pseudonym column (the narrowest is 24)


def pseudonym_of(person_id: int) -> str:
    digest = salted_hmac(PURPOSE, str(person_id), algorithm="sha256").hexdigest()
    return ("p-" + digest)[:LENGTH]
