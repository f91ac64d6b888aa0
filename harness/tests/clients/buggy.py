#!/usr/bin/env python3
"""An FTP client with one chosen real-world bug, to show that a scenario can fail a client.

    buggy.py URL list|download|upload|session [LOCAL] --bug NAME
             [--connect-timeout S] [--timeout S] [--tls CAFILE] [--retry N]

Passive mode only, binary transfers, its own reply reader on raw sockets (ftplib hides the
details the bugs live in). `--tls CAFILE` is explicit FTPS (AUTH TLS, PBSZ 0, PROT P) with
the server's certificate checked against CAFILE. `--retry N`: a connection refused with a 4xx
greeting (421), or closed before any greeting, is tried again on a new connection a second
later, up to N more times. A listing goes to stdout; a download to
LOCAL; an upload reads LOCAL; a session runs the steps in the file LOCAL ("list PATH",
"download PATH FILE", "upload FILE PATH") on one control connection. Exit 0 on success, 1
and one line on stderr on an error.

With `--bug none` the client is correct. Each other NAME adds exactly one bug:

  preauth-cleartext  a 230 greeting under --tls: no AUTH TLS, goes on in the clear
                     (curl CVE-2021-22946)
  trust-pipelined    bytes read together with the 234 are kept and taken, after the TLS
                     handshake, as the reply to the next command (curl CVE-2021-22947)
  no-close-notify    TLS data connections of uploads are closed without close_notify
  pwd-echo           CWDs, before each transfer, to the path the 257 reply to PWD named,
                     byte for byte (a CR inside it included)
  reject-125         a 125 preliminary reply is taken for an error
  pass-after-230     sends PASS even when USER got 230, and fails when PASS is refused
  need-crlf          a reply line ends at CRLF only: waits for the CR after a bare LF
  ok-after-425       150 and then a 4xx/5xx final reply still counts as success
  close-on-226       the final reply arriving before the data connection's end closes the
                     data connection at once, keeping what came (lwftp)
  one-read-reply     a reply is what one recv() returns, whole: a reply split over segments
                     is cut short (and the rest taken for the next reply)
  retry-in-place     under --retry, a 4xx greeting is waited out on the same connection (as
                     if it were "120 ready in nnn minutes") instead of connecting again
"""
import argparse
import select
import socket
import ssl
import sys
import time
import urllib.parse

BUGS = [
    "none",
    "preauth-cleartext",
    "trust-pipelined",
    "no-close-notify",
    "pwd-echo",
    "reject-125",
    "pass-after-230",
    "need-crlf",
    "ok-after-425",
    "close-on-226",
    "one-read-reply",
    "retry-in-place",
]


class Fail(Exception):
    pass


class Client:
    def __init__(self, a):
        self.bug = a.bug
        self.timeout = a.timeout
        self.connect_timeout = a.connect_timeout
        u = urllib.parse.urlsplit(a.url)
        self.host = u.hostname
        self.port = u.port or 21
        self.user = urllib.parse.unquote(u.username or "anonymous")
        self.password = urllib.parse.unquote(u.password or "")
        self.ctx = ssl.create_default_context(cafile=a.tls) if a.tls else None
        self.tls = False  # the control connection is under TLS
        self.home = None  # the path the 257 reply to PWD named
        self.retries = a.retry
        self.buf = b""
        self.sock = None
        self.connect()

    def connect(self):
        if self.sock:
            self.sock.close()
        self.buf = b""
        self.sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        self.sock.settimeout(self.timeout)

    # --- the control connection ---------------------------------------------------------

    def send(self, line):
        self.sock.sendall(line.encode("latin-1") + b"\r\n")

    def read_line(self):
        end = b"\r\n" if self.bug == "need-crlf" else b"\n"
        while True:
            i = self.buf.find(end)
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + len(end):]
                return line.rstrip(b"\r").decode("latin-1")
            self.buf += self.recv()

    def recv(self):
        """One read of the control connection (never empty)."""
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            raise Fail(f"no reply within {self.timeout:g} s") from None
        if not data:
            raise Fail("the server closed the control connection")
        return data

    def reply(self):
        """The next reply: (code, its text)."""
        if self.bug == "one-read-reply" and not self.buf:
            line = self.recv().decode("latin-1").rstrip("\r\n")  # one read, one reply
            code = line[:3]
            if not (code.isdigit() and line[3:4] in ("", " ", "-")):
                raise Fail(f"malformed reply {line!r}")
            return int(code), line
        line = self.read_line()
        code = line[:3]
        if not (code.isdigit() and line[3:4] in ("", " ", "-")):
            raise Fail(f"malformed reply {line!r}")
        lines = [line]
        if line[3:4] == "-":
            while not (line[:3] == code and line[3:4] in ("", " ")):
                line = self.read_line()
                lines.append(line)
        return int(code), "\n".join(lines)

    def cmd(self, line):
        self.send(line)
        return self.reply()

    def expect(self, line, *codes):
        code, text = self.cmd(line)
        if code not in codes:
            shown = "PASS ****" if line.startswith("PASS ") else line
            raise Fail(f"{shown}: {last(text)}")
        return code, text

    def reply_waiting(self):
        """Whether a reply line has arrived on the control connection (without reading it)."""
        if b"\n" in self.buf:
            return True
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        return bool(select.select([self.sock], [], [], 0)[0])

    def start_tls(self):
        self.expect("AUTH TLS", 234)
        # Anything read with the 234 came in the clear, where anyone could have put it.
        leftover, self.buf = self.buf, b""
        self.sock = self.ctx.wrap_socket(self.sock, server_hostname=self.host)
        self.tls = True
        if self.bug == "trust-pipelined":
            self.buf = leftover

    # --- the session --------------------------------------------------------------------

    def greeting(self):
        """The greeting; under --retry, a refused connection (4xx, or closed at once) is
        tried again."""
        tries = 0
        while True:
            try:
                code, text = self.reply()
            except Fail:
                if tries >= self.retries:
                    raise
                code, text = 421, "421 closed before the greeting"
            if not 400 <= code < 500 or tries >= self.retries:
                return code, text
            tries += 1
            time.sleep(1)
            if self.bug == "retry-in-place":
                continue  # "ready in a while": wait on the same connection
            self.connect()

    def login(self):
        code, text = self.greeting()
        if code not in (220, 230):
            raise Fail(f"greeting: {last(text)}")
        logged_in = code == 230
        if self.ctx:
            if logged_in and self.bug == "preauth-cleartext":
                pass  # "already logged in": on without TLS
            else:
                self.start_tls()
                logged_in = False  # a 230 before TLS proves nothing: log in now
        if not logged_in:
            code, text = self.expect("USER " + self.user, 230, 331, 332)
            if code == 332:
                raise Fail("USER: an account is asked for (ACCT is not supported)")
            if code == 331 or self.bug == "pass-after-230":
                self.expect("PASS " + self.password, 230, 202)
        if self.tls:
            self.expect("PBSZ 0", 200)
            self.expect("PROT P", 200)
        code, text = self.cmd("PWD")
        if code == 257:
            self.home = quoted(text.split("\n")[0])

    def data_connection(self):
        if self.sock.family == socket.AF_INET6:
            _, text = self.expect("EPSV", 229)
            try:
                inside = text[text.index("(") + 1:text.index(")")]
                port = int(inside[3:-1])
            except ValueError:
                raise Fail(f"EPSV: malformed reply {text!r}") from None
        else:
            _, text = self.expect("PASV", 227)
            nums = []
            for part in text[4:].replace("(", ",").replace(")", ",").split(","):
                if part.strip().isdigit():
                    nums.append(int(part.strip()))
            if len(nums) < 6:
                raise Fail(f"PASV: malformed reply {text!r}")
            port = nums[-2] * 256 + nums[-1]
        # The 227 address is not trusted: the data connection goes where the control went.
        peer = self.sock.getpeername()[0]
        data = socket.create_connection((peer, port), timeout=self.connect_timeout)
        data.settimeout(self.timeout)
        return data

    def start_transfer(self, line):
        """Opens the data connection and sends `line`; the connection, under TLS if the
        control connection is."""
        if self.bug == "pwd-echo" and self.home is not None:
            self.cmd("CWD " + self.home)
        data = self.data_connection()
        code, text = self.cmd(line)
        if code == 125 and self.bug == "reject-125":
            data.close()
            raise Fail(f"{line}: unexpected reply {text!r}")
        if not 100 <= code < 200:
            data.close()
            raise Fail(f"{line}: {last(text)}")
        if self.tls:
            data = self.ctx.wrap_socket(data, server_hostname=self.host)
        return data

    def finish_transfer(self, line, final=None):
        code, text = final or self.reply()
        if not 200 <= code < 300:
            if self.bug == "ok-after-425":
                return  # the 150 said it was fine
            raise Fail(f"{line}: {last(text)}")

    def receive(self, line, sink):
        self.expect("TYPE I", 200)
        data = self.start_transfer(line)
        final = None
        try:
            while True:
                if self.bug == "close-on-226" and self.reply_waiting():
                    final = self.reply()  # done, then: keep what came
                    break
                try:
                    chunk = data.recv(65536)
                except socket.timeout:
                    raise Fail(f"{line}: no data within {self.timeout:g} s") from None
                if not chunk:
                    break
                sink(chunk)
        finally:
            data.close()
        self.finish_transfer(line, final)

    def upload(self, local, path):
        self.expect("TYPE I", 200)
        line = "STOR " + path
        data = self.start_transfer(line)
        with open(local, "rb") as f:
            while chunk := f.read(65536):
                data.sendall(chunk)
        if isinstance(data, ssl.SSLSocket) and self.bug != "no-close-notify":
            data = data.unwrap()  # close_notify
        data.close()
        self.finish_transfer(line)

    def step(self, step):
        if step[0] == "list":
            path = step[1]
            line = "LIST " + path.rstrip("/") if path.rstrip("/") else "LIST"
            out = sys.stdout.buffer
            self.receive(line, out.write)
            out.flush()
        elif step[0] == "download":
            with open(step[2], "wb") as f:
                self.receive("RETR " + step[1], f.write)
        elif step[0] == "upload":
            self.upload(step[1], step[2])
        else:
            raise Fail(f"unknown step {step[0]!r}")

    def quit(self):
        try:
            self.cmd("QUIT")
        except (Fail, OSError):
            pass
        self.sock.close()


def last(text):
    """The last line of a reply (lines end at LF: a CR inside one is text)."""
    return text.split("\n")[-1]


def quoted(line):
    """The path inside the quotes of a 257 reply ("" stands for one quote), as sent."""
    start = line.find('"')
    if start < 0:
        return None
    out, i = [], start + 1
    while i < len(line):
        if line[i] == '"':
            if line[i + 1:i + 2] == '"':
                out.append('"')
                i += 2
                continue
            return "".join(out)
        out.append(line[i])
        i += 1
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("action", choices=["list", "download", "upload", "session"])
    p.add_argument("local", nargs="?")
    p.add_argument("--bug", choices=BUGS, required=True)
    p.add_argument("--connect-timeout", type=float, default=10)
    p.add_argument("--timeout", type=float, default=10, help="how long to wait for a reply")
    p.add_argument("--tls", metavar="CAFILE")
    p.add_argument("--retry", type=int, default=0, metavar="N")
    a = p.parse_args()
    path = urllib.parse.unquote(urllib.parse.urlsplit(a.url).path) or "/"
    if a.action == "session":
        with open(a.local) as script:
            steps = [line.split() for line in script if line.strip()]
    elif a.action == "upload":
        steps = [["upload", a.local, path]]
    else:
        steps = [[a.action, path, a.local]]
    c = Client(a)
    c.login()
    for step in steps:
        c.step(step)
    c.quit()


if __name__ == "__main__":
    try:
        main()
    except (Fail, OSError, ValueError) as e:
        text = " ".join(str(e).split()) or type(e).__name__
        print(f"buggy: {text}", file=sys.stderr)
        sys.exit(1)
