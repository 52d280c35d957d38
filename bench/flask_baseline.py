"""Peer for `npm run bench:issuer`: the token endpoint as the seed guide writes it, Flask + PyJWT.

Mints the same claims as issuer/claims.ts (HS256, typ JWT, nbf 30 s back) behind the same
bearer-key check, so the benchmark compares like with like. It runs as it would in production,
under gunicorn with threads (Debian's gunicorn, python3-flask, python3-jwt):
  gunicorn --workers 2 --worker-class gthread --threads 8 --chdir bench flask_baseline:app
Env: JWT_APP_ID, JWT_APP_SECRET, ISSUER_API_KEYS (comma list), JITSI_DOMAIN.
"""

import hmac
import os
import time

import jwt
from flask import Flask, jsonify, request

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
