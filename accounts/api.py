from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import User
from .permissions import ALL_PEOPLE, DOOR, KIOSK, STAFF, role_of
from .selectors import people_visible_to


class PersonSerializer(serializers.ModelSerializer):
    department = serializers.StringRelatedField()

    class Meta:
        model = User
        fields = (
            "id",
            "username",
            "display_name",
            "employee_number",
            "role",
            "department",
            "job_title",
            "is_active",
            "valid_from",
            "valid_until",
        )


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()
    display_name = serializers.CharField(allow_blank=True)


class MeView(APIView):
    """Who is calling: a person (session) or a device (token)."""

    allowed_roles = ALL_PEOPLE + (KIOSK, DOOR)

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        return Response(
            {
                "username": user.username,
                "role": role_of(user),
                "display_name": getattr(user, "display_name", "") or str(user),
            }
        )


class PeopleView(generics.ListAPIView):
    """People the caller may see: admins all, managers their department."""

    allowed_roles = STAFF
    serializer_class = PersonSerializer

    def get_queryset(self):
        return people_visible_to(user=self.request.user)
