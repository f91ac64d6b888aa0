// ftpspec's php-ftp client: one action with PHP's ftp extension, as a user's script would.
// argv: host port user password action path local_file timeout ca_file flags
// flags (comma list): active, ftps, force-pasv-ip.
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
            if (!@ftp_get($ftp, $local, $path, FTP_BINARY)) {
                fail("ftp_get");
            }
            break;
        case "upload":
            if (!@ftp_put($ftp, $path, $local, FTP_BINARY)) {
                fail("ftp_put");
            }
            break;
        case "list":
            $lines = @ftp_rawlist($ftp, $path);
            if ($lines === false) {
                fail("ftp_rawlist");
            }
            $text = implode("", array_map(fn($l) => "$l\n", $lines));
            if (file_put_contents($local, $text) === false) {
                fail("write $local");
            }
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
