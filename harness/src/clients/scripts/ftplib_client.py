# ftpspec's python-ftplib client: one action with Python's ftplib, as a user's script would.
# argv: host port user password action path local_file timeout ca_file flags
# flags: active, ftps, ccc, keepalive=SECS, resume, ascii.
# A session (action "session") reads its steps from local_file, one a line:
# "list PATH", "download PATH LOCAL_FILE", "upload LOCAL_FILE PATH".
# A mirror (action "mirror") downloads the directory PATH recursively into the directory
# local_file.
import ftplib
import os
import re
import socket
import ssl
import sys

host, port, user, password, action, path, local, timeout, ca, flags = sys.argv[1:11]
flags = set(f for f in flags.split(",") if f)
keepalive = [int(f.split("=")[1]) for f in flags if f.startswith("keepalive=")]
if "ftps" in flags:
    ctx = ssl.create_default_context(cafile=ca or None)
    ftp = ftplib.FTP_TLS(context=ctx, timeout=int(timeout))
else:
    ftp = ftplib.FTP(timeout=int(timeout))
ftp.connect(host, int(port))
if keepalive:
    # ftplib sends no NOOP during a transfer; TCP keepalive on its control socket is what a
    # user does to keep a NAT from forgetting the connection.
    ftp.sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    ftp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, keepalive[0])
    ftp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, keepalive[0])
ftp.login(user, password)
if "ftps" in flags:
    ftp.prot_p()
if "ccc" in flags:
    ftp.ccc()
if "active" in flags:
    ftp.set_pasv(False)


def download(path, local):
    if "ascii" in flags:
        # TYPE A: retrlines gives the lines without their CRLF; they are written with LF.
        with open(local, "w", encoding=ftp.encoding, newline="\n") as out:
            ftp.retrlines("RETR " + path, lambda line: out.write(line + "\n"))
        return
    rest = None
    if "resume" in flags and os.path.exists(local):
        rest = os.path.getsize(local)
    with open(local, "ab" if rest else "wb") as out:
        ftp.retrbinary("RETR " + path, out.write, rest=rest)


DOS_LINE = re.compile(r"^\d{2}-\d{2}-\d{2,4}\s+\d{1,2}:\d{2}\s*[AaPp][Mm]\s+(<DIR>|\d+)\s+(.+)$")


def entries(path):
    """(name, is_dir) of a directory: MLSD when FEAT offers MLST, else LIST lines parsed as
    Unix (ls -l) or DOS (IIS) lines."""
    if mlsd_offered:
        for name, facts in ftp.mlsd(path):
            kind = facts.get("type", "").lower()
            if kind in ("file", "dir"):
                yield name, kind == "dir"
        return
    lines = []
    ftp.retrlines("LIST " + path, lines.append)
    for line in lines:
        dos = DOS_LINE.match(line)
        if dos:
            yield dos.group(2), dos.group(1) == "<DIR>"
            continue
        parts = line.split(None, 8)
        if len(parts) == 9 and parts[0][:1] in ("-", "d"):
            yield parts[8], parts[0][0] == "d"


def mirror(path, local):
    os.makedirs(local, exist_ok=True)
    for name, is_dir in list(entries(path)):
        if name in (".", "..") or "/" in name:
            continue
        remote = path.rstrip("/") + "/" + name
        if is_dir:
            mirror(remote, os.path.join(local, name))
        else:
            download(remote, os.path.join(local, name))


def upload(local, path):
    with open(local, "rb") as src:
        ftp.storbinary("STOR " + path, src)


def listing(path, local):
    lines = []
    ftp.retrlines("LIST " + path, lines.append)
    if local:
        with open(local, "w") as out:
            out.write("\n".join(lines) + "\n")


if action == "download":
    download(path, local)
elif action == "upload":
    upload(local, path)
elif action == "list":
    listing(path, local)
elif action == "mirror":
    try:
        mlsd_offered = any(
            l.strip().upper().startswith("MLST") for l in ftp.sendcmd("FEAT").splitlines()[1:]
        )
    except ftplib.error_perm:
        mlsd_offered = False
    mirror(path, local)
else:
    with open(local) as script:
        for line in script:
            words = line.split()
            if words[0] == "download":
                download(words[1], words[2])
            elif words[0] == "upload":
                upload(words[1], words[2])
            else:
                listing(words[1], None)
ftp.quit()
