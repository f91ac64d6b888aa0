// ftpspec's basic-ftp client: one action with Node's basic-ftp, as a user's script would.
// argv: module_dir host port user password action path local_file timeout ca_file flags
// flags (comma list): ftps, ftps-implicit, disable-epsv, prefer-epsv
// basic-ftp is passive-only: no PORT/EPRT, no CCC.
// A session (action "session") reads its steps from local_file, one a line: "list PATH",
// "download PATH LOCAL_FILE", "upload LOCAL_FILE PATH"; all on this one control connection.
"use strict";
const fs = require("fs");

function fail(msg) {
    process.stderr.write(String(msg).split("\n")[0] + "\n");
    process.exit(1);
}

const [moduleDir, host, port, user, password, action, path, local, timeout, ca, flagList] =
    process.argv.slice(1);
const flags = new Set((flagList || "").split(",").filter((f) => f));

// The steps of a session, in order, on the client's one control connection.
async function session(client, script) {
    // LIST, not MLSD, as for a single listing.
    client.availableListCommands = ["LIST -a", "LIST"];
    for (const line of fs.readFileSync(script, "utf8").split("\n")) {
        const w = line.split(/\s+/).filter((x) => x);
        if (w.length === 0) {
            continue;
        }
        if (w[0] === "download" && w.length === 3) {
            await client.downloadTo(w[2], w[1]);
        } else if (w[0] === "upload" && w.length === 3) {
            await client.uploadFrom(w[1], w[2]);
        } else if (w[0] === "list" && w.length === 2) {
            await client.list(w[1]); // the listing is dropped
        } else {
            throw new Error("bad step in " + script + ": " + line.trim());
        }
    }
}

async function main() {
    const ftp = require(moduleDir);
    // The library's timeout (ms) covers the control connection (connect included) and every
    // data connection: it fires when the server makes no progress for that long.
    const client = new ftp.Client(Number(timeout) * 1000);
    if (flags.has("disable-epsv")) {
        // PASV only: basic-ftp's default is EPSV, then its own PASV step (which refuses a 227
        // naming another host). Keep that PASV step; the exported enterPassiveModeIPv4 would
        // follow the 227 address instead.
        const transfer = require(moduleDir + "/dist/transfer");
        client.prepareTransfer =
            transfer.enterPassiveModeIPv4_forceControlHostIP || ftp.enterPassiveModeIPv4;
    } else if (flags.has("prefer-epsv")) {
        // EPSV only, on IPv4 too.
        client.prepareTransfer = ftp.enterPassiveModeIPv6;
    }
    let secure = false;
    if (flags.has("ftps-implicit")) {
        secure = "implicit";
    } else if (flags.has("ftps")) {
        secure = true;
    }
    const options = { host, port: Number(port), user, password, secure };
    if (secure) {
        // Trust the test CA only; Node verifies the chain and the host (an IP address).
        options.secureOptions = { ca: fs.readFileSync(ca), rejectUnauthorized: true };
    }
    try {
        await client.access(options); // also sends TYPE I (and PBSZ 0 / PROT P under TLS)
        if (action === "download") {
            await client.downloadTo(local, path);
        } else if (action === "upload") {
            await client.uploadFrom(local, path);
        } else if (action === "list") {
            // LIST, not MLSD: the library's own candidates when a server has no MLST.
            client.availableListCommands = ["LIST -a", "LIST"];
            // Keep the raw listing text; still parse it with the library's parser.
            let raw = "";
            const parse = client.parseList;
            client.parseList = (text) => {
                raw = text;
                return parse(text);
            };
            await client.list(path);
            fs.writeFileSync(local, raw);
        } else if (action === "session") {
            await session(client, local);
        } else {
            throw new Error("unknown action " + action);
        }
    } finally {
        client.close();
    }
}

main().then(
    () => process.exit(0),
    (e) => fail(e && e.message ? e.message : e)
);
