"""A real SMTP server for Beckon's tests, on aiosmtpd (stdlib + aiosmtpd only).

    smtp_server.py --maildir DIR --log FILE [--port N] [--auth USER:PASS]
                   [--flaky-failures N]

Listens on 127.0.0.1:PORT (0: any free port) and prints the port as the first
line on stdout once it accepts connections. Exits when its stdin closes, so a
test process that dies takes its server with it.

What happens to a message depends on each recipient's local part (before an
optional `+tag`):

- `reject`   -> `550` at RCPT (permanent; the reply echoes the address, as
               real servers do)
- `tempfail` -> `451` at RCPT (transient)
- `flaky`    -> `451` at DATA for the first N attempts of each Message-ID
               (`--flaky-failures`, default 2), then accepted
- anything else is accepted.

Each accepted message is saved as `DIR/NNNNNN.eml` (the raw bytes, written
whole before it appears). Every attempt, accepted or not, is appended to
FILE as one tab-separated line:

    code  message-id  mail-from  rcpt,rcpt  auth-user  file

with `-` for a field that is empty (the Message-ID is only known at DATA).

With `--auth USER:PASS`, AUTH PLAIN and LOGIN are offered without TLS and
required before MAIL (530 otherwise); a wrong password answers 535.
"""

import argparse
import asyncio
import collections
import email.parser
import email.policy
import itertools
import logging
import os
import sys
import threading
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

PERMANENT = "reject"
TRANSIENT = "tempfail"
FLAKY = "flaky"


def kind(address):
    local = address.rsplit("@", 1)[0].lower()
    return local.split("+", 1)[0]


def field(value):
    text = "" if value is None else str(value)
    text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text or "-"


class Handler:
    def __init__(self, maildir, log, flaky_failures, data_delay=0.0):
        self.data_delay = data_delay
        self.maildir = maildir
        self.log = log
        self.flaky_failures = flaky_failures
        self.flaky_seen = collections.Counter()
        self.seq = itertools.count(1)

    def record(self, code, session, envelope, message_id=None, rcpts=None, file=None):
        user = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            user = session.auth_data.login.decode("utf-8", "replace")
        line = "\t".join(
            field(v)
            for v in (
                code,
                message_id,
                envelope.mail_from,
                ",".join(rcpts if rcpts is not None else envelope.rcpt_tos),
                user,
                file,
            )
        )
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        k = kind(address)
        if k == PERMANENT:
            self.record("550", session, envelope, rcpts=[address])
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if k == TRANSIENT:
            self.record("451", session, envelope, rcpts=[address])
            return f"451 4.7.1 <{address}>: Recipient address rejected: try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            # A slow server: the message is only kept, and answered, after
            # the delay (a client that gave up by then leaves nothing).
            await asyncio.sleep(self.data_delay)
        raw = envelope.original_content or envelope.content
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        message_id = (headers.get("Message-ID") or "").strip()
        if any(kind(r) == FLAKY for r in envelope.rcpt_tos):
            self.flaky_seen[message_id] += 1
            if self.flaky_seen[message_id] <= self.flaky_failures:
                self.record("451", session, envelope, message_id=message_id)
                return "451 4.3.0 Temporary failure, try again later"
        name = f"{next(self.seq):06d}.eml"
        tmp = os.path.join(self.maildir, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(raw)
        os.replace(tmp, os.path.join(self.maildir, name))
        self.record("250", session, envelope, message_id=message_id, file=name)
        return f"250 2.0.0 OK: queued as {name}"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user
            and auth_data.password == password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


def exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


async def main():
    parser = argparse.ArgumentParser(description="Beckon's test SMTP server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--auth", help="USER:PASS to require")
    parser.add_argument("--flaky-failures", type=int, default=2)
    parser.add_argument("--data-delay", type=float, default=0.0,
                        help="seconds to wait before answering the end of DATA")
    args = parser.parse_args()
    # AUTH without TLS is what the tests want: no warning about it, nor
    # aiosmtpd's per-session chatter; real errors still reach stderr.
    warnings.filterwarnings("ignore", category=UserWarning, module="aiosmtpd")
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    os.makedirs(args.maildir, exist_ok=True)
    open(args.log, "a").close()
    handler = Handler(args.maildir, args.log, args.flaky_failures, args.data_delay)
    options = dict(hostname="beckon-test-smtp", ident="Beckon test SMTP")
    if args.auth:
        user, _, password = args.auth.partition(":")
        options.update(
            authenticator=authenticator(user.encode(), password.encode()),
            auth_required=True,
            auth_require_tls=False,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, loop=loop, **options), host="127.0.0.1", port=args.port
    )
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
