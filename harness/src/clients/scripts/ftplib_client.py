# ftpspec's python-ftplib client: one action with Python's ftplib, as a user's script would.
# argv: host port user password action path local_file timeout ca_file flags(active,ftps,ccc)
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
if action == "download":
    with open(local, "wb") as out:
        ftp.retrbinary("RETR " + path, out.write)
elif action == "upload":
    with open(local, "rb") as src:
        ftp.storbinary("STOR " + path, src)
else:
    lines = []
    ftp.retrlines("LIST " + path, lines.append)
    with open(local, "w") as out:
        out.write("\n".join(lines) + "\n")
ftp.quit()
