"""The OpenID provider's settings that settings.py reads (no Django here: settings import it)."""

# The scopes FaceAuth offers; each releases the claims of the same idea (identity.oidc).
SCOPES = {
    "openid": "Sign you in",
    "profile": "Your name",
    "email": "Your e-mail address",
    "employee": "Your employee number",
    "department": "Your department",
    "role": "Your role at FaceAuth (employee, manager, ...)",
}


def new_rsa_pem() -> str:
    """A fresh 2048-bit RSA private key in PEM (the embedded default's per-checkout key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def split_pems(text: str) -> list[str]:
    """Concatenated PEM keys (real or ``\\n``-escaped newlines, as env files carry them)."""
    text = text.replace("\\n", "\n")
    return ["-----BEGIN" + part.rstrip() + "\n" for part in text.split("-----BEGIN")[1:]]
