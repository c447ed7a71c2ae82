"""Regenerates this folder's events with SAM CLI's own start-api event builder.

    PYTHONPATH=path/to/aws-sam-cli python3 gen.py   # SAM CLI 1.164.0, Flask 3

Each event is what construct_v2_event_http (samcli/local/apigw/event_constructor.py)
builds for a curl request at `sam local start-api --port 3000` (HttpApi, payload 2.0):
requestContext.domainName "localhost", the client's Host header, X-Forwarded-Proto and
X-Forwarded-Port set by SAM. The webhooks carry the sandbox's signing key's signatures."""
import base64, hashlib, hmac, json, os, urllib.parse
from flask import Flask, request
from samcli.local.apigw.event_constructor import construct_v2_event_http

KEY = "PSK_sandboxWebhookSigningKey0123456789"  # test/sandbox.SigningKey
PORT = 3000
READ = "/accounts/{account_sid}/conferences/{conference_sid}/participants/{call_sid}"
HOOK = "/webhooks/signalwire"
A, C = "5a3e1c2b-7d4f-4e8a-9b6c-0d1e2f3a4b5c", "cf000001-5a4d-4b0c-9a11-000000000001"
BODY = ("AccountSid=" + A + "&ApiVersion=2010-04-01&ConferenceSid=" + C + "&FriendlyName=daily-standup"
        "&StatusCallbackEvent=participant-join&CallSid=ca110001-5a4d-4b0c-9a11-000000000002&Muted=true&Hold=false"
        "&Coaching=false&EndConferenceOnExit=false&StartConferenceOnEnter=true&SequenceNumber=3"
        "&Timestamp=Thu%2C+26+Nov+2026+10%3A15%3A00+%2B0000")

app = Flask("start-api")
app.add_url_rule(READ.replace("{", "<").replace("}", ">"), "read", methods=["GET"])
app.add_url_rule(HOOK, "hook", methods=["POST"])


def sign(url, body):
    s = url + "".join(k + v for k, v in sorted(urllib.parse.parse_qsl(body, keep_blank_values=True)))
    return base64.b64encode(hmac.new(KEY.encode(), s.encode(), hashlib.sha1).digest()).decode()


def event(n, method, path, route, headers=None, body=None):
    h = {"User-Agent": "curl/8.5.0", "Accept": "*/*", **(headers or {})}
    with app.test_request_context(path, method=method, base_url=f"http://127.0.0.1:{PORT}", headers=h,
                                  data=body, environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        e = construct_v2_event_http(request, PORT, [], route_key=f"{method} {route}", request_time_epoch=1795688100,
                                    request_time="26/Nov/2026:10:15:00 +0000")
    e["requestContext"]["requestId"] = f"5a4d0000-0000-4000-8000-00000000000{n}"
    return e


def hook(n, signed_for, body=BODY):
    form = {"Content-Type": "application/x-www-form-urlencoded", "X-SignalWire-Signature": sign(signed_for, BODY)}
    return event(n, "POST", HOOK, HOOK, form, body)


p = f"/accounts/{A}/conferences/{C}/participants/"
out = {
    "read-200.json": event(1, "GET", p + "ca110001-5a4d-4b0c-9a11-000000000001", READ),
    "read-404.json": event(2, "GET", p + "ca110001-5a4d-4b0c-9a11-0000000000ff", READ),
    "read-400.json": event(3, "GET", p + "not-a-uuid", READ),
    # Signed for the URL curl called: what a local user signs (go run ./cmd/demo -sign).
    "webhook-local.json": hook(4, f"http://127.0.0.1:{PORT}{HOOK}"),
    # The same signature over an altered body.
    "webhook-forged.json": hook(5, f"http://127.0.0.1:{PORT}{HOOK}", BODY.replace("Muted=true", "Muted=false")),
    # Signed for https://{requestContext.domainName}{rawPath}: the URL deployed code reconstructs.
    "webhook-deployed.json": hook(6, "https://localhost" + HOOK),
}
here = os.path.dirname(os.path.abspath(__file__))
for name, e in out.items():
    with open(os.path.join(here, name), "w") as f:
        json.dump(e, f, indent=2)
        f.write("\n")
