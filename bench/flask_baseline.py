"""Baseline for `npm run bench:issuer`: the token endpoint as the seed guide writes it, Flask + PyJWT.

Mints the same claims as issuer/claims.ts (HS256, typ JWT, nbf 30 s back) behind the same
bearer-key check, so the benchmark compares like with like. Run with Debian's /usr/bin/python3.
Env: PORT, JWT_APP_ID, JWT_APP_SECRET, ISSUER_API_KEYS (comma list), JITSI_DOMAIN.
"""

import hmac
import os
import time

import jwt
from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler

APP_ID = os.environ["JWT_APP_ID"]
SECRET = os.environ["JWT_APP_SECRET"]
KEYS = [k for k in os.environ["ISSUER_API_KEYS"].split(",") if k]
DOMAIN = os.environ["JITSI_DOMAIN"]

app = Flask(__name__)


@app.post("/v1/token")
def token():
    presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not any(hmac.compare_digest(presented, k) for k in KEYS):
        return jsonify(error={"code": "invalid_credentials", "message": "bad key"}), 401
    body = request.get_json(silent=True) or {}
    room = str(body.get("room", "")).lower()
    user = body.get("user") or {}
    if not room or not user.get("name"):
        return jsonify(error={"code": "invalid_body", "message": "room and user.name are required"}), 400
    now = int(time.time())
    ttl = int(body.get("ttlSeconds", 3600))
    moderator = bool(body.get("moderator", False))
    claims = {
        "iss": APP_ID,
        "aud": APP_ID,
        "sub": "meet.jitsi",
        "room": room,
        "iat": now,
        "nbf": now - 30,
        "exp": now + ttl,
        "context": {
            "user": {"name": user["name"], "moderator": moderator, "affiliation": "owner" if moderator else "member"}
        },
    }
    signed = jwt.encode(claims, SECRET, algorithm="HS256", headers={"typ": "JWT"})
    return jsonify(token=signed, expiresAt=claims["exp"], url='https://%s/%s#jwt="%s"' % (DOMAIN, room, signed))


if __name__ == "__main__":
    # Keep-alive, so the baseline is not slowed by a TCP handshake per request.
    WSGIRequestHandler.protocol_version = "HTTP/1.1"
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]), threaded=True)
