# ftpspec's aioftp client: one action with Python's aioftp (asyncio), as a user's script would.
# argv: host port user password action path local_file timeout ca_file flags
# flags (comma list): ftps, ftps-implicit, disable-epsv, prefer-epsv
# aioftp's client is passive-only (EPSV/PASV): no PORT/EPRT, no CCC.
# A session (action "session") reads its steps from local_file, one a line: "list PATH",
# "download PATH LOCAL_FILE", "upload LOCAL_FILE PATH"; all on this one control connection.
import asyncio
import ssl
import sys


async def download(client, path, local):
    # Streams use TYPE I.
    with open(local, "wb") as out:
        async with client.download_stream(path) as stream:
            async for block in stream.iter_by_block():
                out.write(block)


async def upload(client, local, path):
    with open(local, "rb") as src:
        async with client.upload_stream(path) as stream:
            while True:
                block = src.read(65536)
                if not block:
                    break
                await stream.write(block)


async def listing(client, path, local):
    """LIST path; the raw lines go to local, or are dropped when it is None (a session's step)."""
    if local is None:
        await client.list(path, raw_command="LIST")
        return
    # LIST, not MLSD; the raw lines are kept as the library's parsers see them.
    lines = []

    def keep(line):
        lines.append(line.decode(client.encoding).rstrip("\r\n"))
        raise ValueError("kept")  # go on to aioftp's own parsers

    client.parse_list_line_custom = keep
    client.parse_list_line_custom_first = True
    await client.list(path, raw_command="LIST")
    with open(local, "w") as out:
        out.write("".join(line + "\n" for line in lines))


async def main():
    import aioftp

    host, port, user, password, action, path, local, timeout, ca, flags = sys.argv[1:11]
    flags = set(f for f in flags.split(",") if f)
    timeout = int(timeout)
    if "disable-epsv" in flags:
        passive = ("pasv",)
    elif "prefer-epsv" in flags:
        passive = ("epsv",)
    else:
        passive = ("epsv", "pasv")  # the library's default
    ctx = None
    if "ftps" in flags or "ftps-implicit" in flags:
        # Trust the test CA only; the default context checks the chain and the host name.
        ctx = ssl.create_default_context(cafile=ca or None)
    # connection_timeout: every connect (control and data); socket_timeout: every read and
    # write on them. The 227 address is ignored: data goes to the control connection's host.
    client = aioftp.Client(
        socket_timeout=timeout,
        connection_timeout=timeout,
        passive_commands=passive,
        trust_server_pasv_ipv4_address=False,
        ssl=ctx if "ftps-implicit" in flags else None,
    )
    await client.connect(host, int(port))
    try:
        if "ftps" in flags:
            await client.upgrade_to_tls(ctx)  # AUTH TLS, then PBSZ 0 and PROT P
        await client.login(user, password)
        if "ftps-implicit" in flags:
            # aioftp sends PBSZ/PROT only after upgrade_to_tls; on implicit TLS the data
            # connections are TLS already, so tell the server so.
            await client.command("PBSZ 0", "200")
            await client.command("PROT P", "200")
        if action == "download":
            await download(client, path, local)
        elif action == "upload":
            await upload(client, local, path)
        elif action == "list":
            await listing(client, path, local)
        elif action == "session":
            with open(local) as script:
                steps = [line.split() for line in script]
            for words in steps:
                if not words:
                    continue
                if words[0] == "download" and len(words) == 3:
                    await download(client, words[1], words[2])
                elif words[0] == "upload" and len(words) == 3:
                    await upload(client, words[1], words[2])
                elif words[0] == "list" and len(words) == 2:
                    await listing(client, words[1], None)
                else:
                    raise ValueError("bad step in " + local + ": " + " ".join(words))
        else:
            raise ValueError("unknown action " + action)
        await client.quit()
    finally:
        client.close()


try:
    asyncio.run(main())
except BaseException as e:  # noqa: BLE001 - one line, whatever it was
    text = str(e).splitlines()
    print(type(e).__name__ + (": " + text[0] if text else ""), file=sys.stderr)
    sys.exit(1)
