#!/usr/bin/env python3
"""A small FTP client for ftpspec's client-file tests: Python's ftplib from the command line.

    pyftp.py URL list|download|upload|session [LOCAL] [--timeout N] [--active] [--tls CAFILE]

A listing goes to stdout; a download to LOCAL; an upload reads LOCAL; a session runs the
steps in the file LOCAL ("list PATH", "download PATH FILE", "upload FILE PATH"). Exit 0 on
success."""
import argparse
import ftplib
import ssl
import sys
import urllib.parse


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("action", choices=["list", "download", "upload", "session"])
    p.add_argument("local", nargs="?")
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--active", action="store_true")
    p.add_argument("--tls", metavar="CAFILE")
    a = p.parse_args()
    u = urllib.parse.urlsplit(a.url)
    if a.tls:
        ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=a.tls), timeout=a.timeout)
    else:
        ftp = ftplib.FTP(timeout=a.timeout)
    ftp.connect(u.hostname, u.port or 21)
    ftp.login(urllib.parse.unquote(u.username or "anonymous"), urllib.parse.unquote(u.password or ""))
    if a.tls:
        ftp.prot_p()
    ftp.set_pasv(not a.active)
    path = urllib.parse.unquote(u.path) or "/"
    if a.action == "session":
        with open(a.local) as script:
            steps = [line.split() for line in script if line.strip()]
    elif a.action == "upload":
        steps = [["upload", a.local, path]]
    else:
        steps = [[a.action, path, a.local]]
    for step in steps:
        run(ftp, step)
    ftp.quit()


def run(ftp, step):
    if step[0] == "list":
        path = step[1]
        ftp.retrlines("LIST " + path.rstrip("/") if path != "/" else "LIST", print)
    elif step[0] == "download":
        with open(step[2], "wb") as f:
            ftp.retrbinary("RETR " + step[1], f.write)
    else:
        with open(step[1], "rb") as f:
            ftp.storbinary("STOR " + step[2], f)


if __name__ == "__main__":
    try:
        main()
    except (ftplib.all_errors, OSError) as e:
        print(f"pyftp: {e}", file=sys.stderr)
        sys.exit(1)
