// ftpspec's php-ftp client: one action with PHP's ftp extension, as a user's script would.
// argv: host port user password action path local_file timeout ca_file flags
// flags (comma list): active, ftps, force-pasv-ip.
// A session (action "session") reads its steps from local_file, one a line: "list PATH",
// "download PATH LOCAL_FILE", "upload LOCAL_FILE PATH"; all on this one control connection.
// ext/ftp has no way to take a CA file or verify the server's certificate: under ftps the
// ca_file argument goes unused (ftp_ssl_connect never checks the certificate).

// One line on stderr, exit 1. ext/ftp reports a refused reply as a warning holding the
// server's text, which error_get_last() keeps.
function fail(string $what): void
{
    $err = error_get_last();
    $msg = $err ? preg_replace('/^\w+\(\): /', '', $err["message"]) : "failed";
    fwrite(STDERR, "$what: " . strtok($msg, "\n") . "\n");
    exit(1);
}

function download($ftp, string $path, string $local): void
{
    if (!@ftp_get($ftp, $local, $path, FTP_BINARY)) {
        fail("ftp_get");
    }
}

function upload($ftp, string $local, string $path): void
{
    if (!@ftp_put($ftp, $path, $local, FTP_BINARY)) {
        fail("ftp_put");
    }
}

// The listing goes to $local, or is dropped when there is none (a session's step).
function listing($ftp, string $path, ?string $local): void
{
    $lines = @ftp_rawlist($ftp, $path);
    if ($lines === false) {
        fail("ftp_rawlist");
    }
    if ($local === null) {
        return;
    }
    $text = implode("", array_map(fn($l) => "$l\n", $lines));
    if (file_put_contents($local, $text) === false) {
        fail("write $local");
    }
}

function session($ftp, string $script): void
{
    $steps = @file($script, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES);
    if ($steps === false) {
        fail("read $script");
    }
    foreach ($steps as $line) {
        $w = preg_split('/\s+/', trim($line), -1, PREG_SPLIT_NO_EMPTY);
        if (!$w) {
            continue;
        }
        // A failure's message is this step's, not an earlier step's warning.
        error_clear_last();
        if ($w[0] === "download" && count($w) === 3) {
            download($ftp, $w[1], $w[2]);
        } elseif ($w[0] === "upload" && count($w) === 3) {
            upload($ftp, $w[1], $w[2]);
        } elseif ($w[0] === "list" && count($w) === 2) {
            listing($ftp, $w[1], null);
        } else {
            fwrite(STDERR, "bad step in $script: " . trim($line) . "\n");
            exit(2);
        }
    }
}

function run(array $argv): void
{
    [$host, $port, $user, $password, $action, $path, $local, $timeout, $ca, $flags] =
        array_slice(array_pad($argv, 11, ""), 1, 10);
    $flags = array_filter(explode(",", $flags), "strlen");
    $ftps = in_array("ftps", $flags);
    // The one timeout bounds the connects (control and data), the accept of an active data
    // connection, and every read and write.
    $ftp = $ftps
        ? @ftp_ssl_connect($host, (int)$port, (int)$timeout)
        : @ftp_connect($host, (int)$port, (int)$timeout);
    if ($ftp === false) {
        // A failed connect or TLS handshake sets no message of its own.
        fwrite(STDERR, ($ftps ? "ftp_ssl_connect" : "ftp_connect")
            . ": no connection or no 220 greeting from $host:$port\n");
        exit(1);
    }
    if (!@ftp_login($ftp, $user, $password)) {
        fail("ftp_login");
    }
    // FTP_USEPASVADDRESS true (the default) connects to the 227 address; false uses the
    // control connection's address.
    if (!@ftp_set_option($ftp, FTP_USEPASVADDRESS, !in_array("force-pasv-ip", $flags))) {
        fail("ftp_set_option");
    }
    if (!@ftp_pasv($ftp, !in_array("active", $flags))) {
        fail("ftp_pasv");
    }
    switch ($action) {
        case "download":
            download($ftp, $path, $local);
            break;
        case "upload":
            upload($ftp, $local, $path);
            break;
        case "list":
            listing($ftp, $path, $local);
            break;
        case "session":
            session($ftp, $local);
            break;
        default:
            fwrite(STDERR, "unknown action $action\n");
            exit(2);
    }
    if (!@ftp_close($ftp)) {
        fail("ftp_close");
    }
}

try {
    run($argv);
} catch (Throwable $e) {
    fwrite(STDERR, get_class($e) . ": " . strtok($e->getMessage(), "\n") . "\n");
    exit(1);
}
