"""A real SMTP server for Teamline's tests (aiosmtpd), started by teamline_mail::testing.

Every accepted message is decoded with Python's own e-mail parser (not ours) and written to
OUT_DIR/<n>.json: envelope, headers, the text and HTML parts, whether the connection was
encrypted and who signed in. Recipients at reject.example are refused with 550.

Usage: smtp_server.py PORT OUT_DIR MODE [--cert CERT --key KEY] [--auth USER PASSWORD]
  MODE: plain | starttls | tls  (starttls: STARTTLS is offered and required)
Prints "READY" once it accepts connections; stops on SIGTERM or when stdin closes.
"""

import argparse
import email
import email.policy
import json
import os
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith("@reject.example"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        parts = {}
        for part in message.walk():
            kind = part.get_content_type()
            if kind in ("text/plain", "text/html") and kind not in parts:
                parts[kind] = part.get_content()
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_to": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "message_id": str(message["Message-ID"]),
            "content_type": message.get_content_type(),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
            "tls": ssl_object is not None,
            "auth_user": session.auth_data if session.authenticated else None,
        }
        with self.lock:
            self.count += 1
            path = os.path.join(self.out_dir, "%d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)  # readers never see half a file
        return "250 2.0.0 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password):
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)
    return check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("out_dir")
    parser.add_argument("mode", choices=["plain", "starttls", "tls"])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth", nargs=2, metavar=("USER", "PASSWORD"))
    args = parser.parse_args()

    context = None
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    options = {}
    if args.mode == "starttls":
        options.update(tls_context=context, require_starttls=True)
    if args.auth:
        options.update(authenticator=authenticator(*args.auth), auth_required=True,
                       # aiosmtpd counts only STARTTLS as TLS: with implicit TLS the
                       # connection is encrypted anyway, and plain mode tests AUTH without it.
                       auth_require_tls=args.mode == "starttls")
    controller = Controller(Recorder(args.out_dir), hostname="127.0.0.1", port=args.port,
                            ssl_context=context if args.mode == "tls" else None,
                            server_hostname="localhost", **options)
    controller.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()  # the test holds our stdin; EOF means it is gone
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
