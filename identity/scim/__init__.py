"""FaceAuth's SCIM 2.0 server (RFC 7643/7644) for provisioning from a directory or HR system.

People are Users, departments are Groups; docs/identity.md ("Provisioning") has the mapping.
Payloads are parsed and rendered with scim2-models (the same library scim2-tester checks us
with); every change goes through accounts.services, so it is validated and audited there.
"""
