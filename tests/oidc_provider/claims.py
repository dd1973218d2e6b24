"""The claims the test provider vouches for: the e-mail address, whether it is verified (a
person in the group "email_verified"), and the name."""

from oauth2_provider.oauth2_validators import OAuth2Validator

VERIFIED_GROUP = "email_verified"


class ClaimsValidator(OAuth2Validator):
    def get_additional_claims(self, request):
        user = request.user
        return {
            "email": user.email,
            "email_verified": user.groups.filter(name=VERIFIED_GROUP).exists(),
            "given_name": user.first_name,
            "family_name": user.last_name,
        }
