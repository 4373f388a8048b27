"""OpenAPI description of the device token scheme (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.DeviceTokenAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Kiosks and doors: `Device <token>`, issued when registering a device.",
        }


class DeviceSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.DeviceSessionAuthentication"
    name = "pairedDeviceSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A browser paired as a kiosk or door (/accounts/device/pair/).",
        }
