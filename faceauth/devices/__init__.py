"""Devices and doors (docs/access_control.md, "Devices"): an admin adds a kiosk or a door, gives
a door its access point, pairs a screen by a one-time link or QR code, sees when each was last
seen, rotates and revokes. Combines accounts (devices, pairing) and access_control (access
points), so it lives in the wiring layer and reaches each app through its services and
selectors only."""
