# ftpspec's python-ftplib client: one action with Python's ftplib, as a user's script would.
# argv: host port user password action path local_file timeout ca_file flags(active,ftps,ccc)
# A session (action "session") reads its steps from local_file, one a line:
# "list PATH", "download PATH LOCAL_FILE", "upload LOCAL_FILE PATH".
import ftplib
import ssl
import sys

host, port, user, password, action, path, local, timeout, ca, flags = sys.argv[1:11]
flags = set(f for f in flags.split(",") if f)
if "ftps" in flags:
    ctx = ssl.create_default_context(cafile=ca or None)
    ftp = ftplib.FTP_TLS(context=ctx, timeout=int(timeout))
else:
    ftp = ftplib.FTP(timeout=int(timeout))
ftp.connect(host, int(port))
ftp.login(user, password)
if "ftps" in flags:
    ftp.prot_p()
if "ccc" in flags:
    ftp.ccc()
if "active" in flags:
    ftp.set_pasv(False)


def download(path, local):
    with open(local, "wb") as out:
        ftp.retrbinary("RETR " + path, out.write)


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
