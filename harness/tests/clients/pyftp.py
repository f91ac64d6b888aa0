#!/usr/bin/env python3
"""A small FTP client for ftpspec's client-file tests: Python's ftplib from the command line.

    pyftp.py URL list|download|upload [LOCAL] [--timeout N] [--active] [--tls CAFILE]

A listing goes to stdout; a download to LOCAL; an upload reads LOCAL. Exit 0 on success."""
import argparse
import ftplib
import ssl
import sys
import urllib.parse


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("action", choices=["list", "download", "upload"])
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
    if a.action == "list":
        ftp.retrlines("LIST " + path.rstrip("/") if path != "/" else "LIST", print)
    elif a.action == "download":
        with open(a.local, "wb") as f:
            ftp.retrbinary("RETR " + path, f.write)
    else:
        with open(a.local, "rb") as f:
            ftp.storbinary("STOR " + path, f)
    ftp.quit()


if __name__ == "__main__":
    try:
        main()
    except (ftplib.all_errors, OSError) as e:
        print(f"pyftp: {e}", file=sys.stderr)
        sys.exit(1)
