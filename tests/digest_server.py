"""An HTTP Digest server built on Flask-HTTPAuth, independent of this project's code.

Serves the access-history path for one API key and prints `listening on PORT` first.
`GET /count` (unauthenticated) reports how many API requests arrived.
Usage: python3 digest_server.py PUBLIC_KEY PRIVATE_KEY
"""

import secrets
import sys
import threading

from flask import Flask, jsonify
from flask_httpauth import HTTPDigestAuth
from werkzeug.serving import make_server

public_key, private_key = sys.argv[1], sys.argv[2]
app = Flask(__name__)
auth = HTTPDigestAuth(realm="MMS Public API", qop="auth")
nonces = set()
lock = threading.Lock()
requests_seen = 0


@auth.get_password
def get_password(username):
    return private_key if username == public_key else None


@auth.generate_nonce
def generate_nonce():
    nonce = secrets.token_hex(16)
    nonces.add(nonce)
    return nonce


@auth.verify_nonce
def verify_nonce(nonce):
    return nonce in nonces


@auth.generate_opaque
def generate_opaque():
    return "0paque"


@auth.verify_opaque
def verify_opaque(opaque):
    return opaque == "0paque"


@app.before_request
def count():
    global requests_seen
    with lock:
        requests_seen += 1


@app.route("/api/atlas/v2/groups/<group>/dbAccessHistory/clusters/<cluster>")
@auth.login_required
def access_history(group, cluster):
    return jsonify({"accessLogs": []})


@app.route("/count")
def count_requests():
    return jsonify({"requests": requests_seen - 1})


server = make_server("127.0.0.1", 0, app, threaded=True)
print(f"listening on {server.server_port}", flush=True)
server.serve_forever()
