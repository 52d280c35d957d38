"""Checks a Jitsi room token the way Prosody does (token/util.lib.lua with luajwtjitsi), using PyJWT.

An implementation independent of jose: Debian's python3-jwt, run as /usr/bin/python3.
Usage: prosody_verify.py --serve. It checks one token per line of standard input, each line
{"appId", "secret", "token"}, and answers each with a line {"ok", "header", "claims"} or {"ok", "reason"}:
one Python start for all the tokens of a test process instead of one per token (test/issuer/pyjwt.ts).
"""

import json
import sys

import jwt

FEATURES = {
    "branding", "calendar", "create-polls", "file-upload", "flip", "inbound-call", "list-visitors",
    "live-translation", "livestreaming", "lobby", "moderation", "outbound-call", "recording", "room",
    "screen-sharing", "send-groupchat", "send-private-message", "sip-inbound-call", "sip-outbound-call",
    "transcription",
}


class Refused(Exception):
    """Why Prosody would refuse the token."""


def fail(reason):
    raise Refused(reason)


def check(app_id, secret, token):
    """The token's header and claims when Prosody would accept it; raises Refused otherwise."""
    header = jwt.get_unverified_header(token)
    # luajwtjitsi: exactly one accepted algorithm, and "Invalid typ" without typ JWT.
    if header.get("alg") != "HS256":
        fail("Invalid alg %r" % header.get("alg"))
    if header.get("typ") != "JWT":
        fail("Invalid typ")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=app_id,
            issuer=app_id,
            leeway=0,  # Prosody allows no clock skew.
            options={"require": ["iss", "aud", "sub", "room", "iat", "nbf", "exp"]},
        )
    except jwt.InvalidTokenError as err:
        fail("%s: %s" % (type(err).__name__, err))
    if not isinstance(claims["aud"], str):
        fail("aud must be a string: Prosody compares it as one")
    for name in ("iat", "nbf", "exp"):
        if not isinstance(claims[name], int) or isinstance(claims[name], bool):
            fail("%s must be a whole number of seconds" % name)
    if not isinstance(claims["room"], str) or claims["room"] != claims["room"].lower():
        fail("room must be a lower-case string")
    user = claims.get("context", {}).get("user")
    if not isinstance(user, dict) or not isinstance(user.get("name"), str):
        fail("context.user.name is missing")
    for key, value in user.items():
        expected = bool if key == "moderator" else str
        if not isinstance(value, expected):
            fail("context.user.%s must be a %s (got %r)" % (key, expected.__name__, value))
    features = claims["context"].get("features", {})
    for key, value in features.items():
        if key not in FEATURES or not isinstance(value, bool):
            fail("context.features.%s is not a known feature with a boolean value" % key)
    return {"header": header, "claims": claims}


def serve():
    for line in sys.stdin:
        asked = json.loads(line)
        try:
            answer = {"ok": True, **check(asked["appId"], asked["secret"], asked["token"])}
        except Refused as err:
            answer = {"ok": False, "reason": str(err)}
        except Exception as err:  # a token PyJWT cannot even read is refused too
            answer = {"ok": False, "reason": "%s: %s" % (type(err).__name__, err)}
        print(json.dumps(answer), flush=True)


def main():
    if sys.argv[1:] != ["--serve"]:
        sys.exit("usage: prosody_verify.py --serve")
    serve()


main()
