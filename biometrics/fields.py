"""Encrypted model fields that fail loudly.

django-encrypted-model-fields returns the ciphertext when decryption fails (a wrong or
missing key), which would feed garbage to the matcher. These fields raise instead, and build
their MultiFernet from the current FIELD_ENCRYPTION_KEY list so a key rotation takes effect
without a restart. (We do not use its EncryptedDateTimeField: it is wrong when TIME_ZONE is
not UTC.)
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from encrypted_model_fields.fields import EncryptedTextField


class DecryptionError(RuntimeError):
    """Stored ciphertext does not decrypt under any configured key."""


@lru_cache(maxsize=8)
def _crypter(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is empty")
    return MultiFernet([Fernet(k) for k in keys])


def crypter() -> MultiFernet:
    keys = settings.FIELD_ENCRYPTION_KEY
    return _crypter(tuple([keys] if isinstance(keys, str) else keys))


def encrypt_text(value: str) -> str:
    return crypter().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return crypter().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "a stored value does not decrypt with FIELD_ENCRYPTION_KEY (wrong key?)"
        ) from exc


class StrictEncryptedTextField(EncryptedTextField):
    """Text stored Fernet-encrypted; reading it with a wrong key raises DecryptionError."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt_text(value)

    def to_python(self, value):
        # Values in Python are plaintext; only from_db_value sees ciphertext.
        return value

    def get_db_prep_save(self, value, connection):
        return None if value is None else encrypt_text(str(value))
