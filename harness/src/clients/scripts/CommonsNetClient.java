// ftpspec's commons-net client: one action with Apache Commons Net's FTPClient/FTPSClient,
// as a user's program would.
// argv: host port user password action path local_file timeout ca_file flags
// flags (comma list): active, ftps, ftps-implicit, ccc, force-pasv-ip, disable-epsv,
// prefer-epsv, port-range=MIN-MAX, external-ip=ADDR
// A session (action "session") reads its steps from local_file, one a line: "list PATH",
// "download PATH LOCAL_FILE", "upload LOCAL_FILE PATH"; all on this one control connection.
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.commons.net.ftp.FTPFile;
import org.apache.commons.net.ftp.FTPReply;
import org.apache.commons.net.ftp.FTPSClient;

public class CommonsNetClient {
    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable e) {
            String msg = e.getMessage();
            System.err.println("commons-net: " + e.getClass().getSimpleName()
                    + (msg == null ? "" : ": " + msg.trim().replace('\n', ' ')));
            System.exit(1);
        }
        System.exit(0);
    }

    static void check(FTPClient ftp, boolean ok, String what) {
        if (!ok) {
            throw new RuntimeException(what + " failed: " + ftp.getReplyString().trim());
        }
    }

    static void download(FTPClient ftp, String path, String local) throws Exception {
        try (OutputStream out = new FileOutputStream(local)) {
            check(ftp, ftp.retrieveFile(path, out), "RETR");
        }
    }

    static void upload(FTPClient ftp, String local, String path) throws Exception {
        try (InputStream in = new FileInputStream(local)) {
            check(ftp, ftp.storeFile(path, in), "STOR");
        }
    }

    /** The listing goes to local, or is dropped when that is null (a session's step). */
    static void list(FTPClient ftp, String path, String local) throws Exception {
        FTPFile[] files = ftp.listFiles(path);
        check(ftp, FTPReply.isPositiveCompletion(ftp.getReplyCode()), "LIST");
        if (local == null) {
            return;
        }
        try (Writer out = new OutputStreamWriter(new FileOutputStream(local), StandardCharsets.UTF_8)) {
            for (FTPFile f : files) {
                if (f != null) {
                    out.write(f.getRawListing() + "\n");
                }
            }
        }
    }

    static void session(FTPClient ftp, String script) throws Exception {
        for (String line : Files.readAllLines(Paths.get(script), StandardCharsets.UTF_8)) {
            String[] w = line.trim().split("\\s+");
            if (w[0].isEmpty()) {
                continue;
            }
            if (w[0].equals("download") && w.length == 3) {
                download(ftp, w[1], w[2]);
            } else if (w[0].equals("upload") && w.length == 3) {
                upload(ftp, w[1], w[2]);
            } else if (w[0].equals("list") && w.length == 2) {
                list(ftp, w[1], null);
            } else {
                throw new IllegalArgumentException("bad step in " + script + ": " + line.trim());
            }
        }
    }

    static TrustManager trustManager(String caFile) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        try (InputStream in = new FileInputStream(caFile)) {
            int i = 0;
            for (Certificate c : cf.generateCertificates(in)) {
                ks.setCertificateEntry("ca" + i++, c);
            }
        }
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        return tmf.getTrustManagers()[0];
    }

    static void run(String[] a) throws Exception {
        if (a.length < 10) {
            throw new IllegalArgumentException("usage: host port user password action path local timeout ca flags");
        }
        String host = a[0], user = a[2], password = a[3], action = a[4], path = a[5], local = a[6];
        int port = Integer.parseInt(a[1]);
        int timeoutMs = Integer.parseInt(a[7]) * 1000;
        String ca = a[8];
        Map<String, String> flags = new HashMap<>();
        for (String f : a[9].split(",")) {
            if (f.isEmpty()) continue;
            int eq = f.indexOf('=');
            flags.put(eq < 0 ? f : f.substring(0, eq), eq < 0 ? "" : f.substring(eq + 1));
        }
        boolean implicit = flags.containsKey("ftps-implicit");
        boolean tls = implicit || flags.containsKey("ftps");

        FTPClient ftp;
        if (tls) {
            FTPSClient ftps = new FTPSClient(implicit);
            if (!ca.isEmpty()) {
                ftps.setTrustManager(trustManager(ca));
            }
            // Check that the certificate names the host connected to (an IP address here).
            ftps.setEndpointCheckingEnabled(true);
            ftp = ftps;
        } else {
            ftp = new FTPClient();
        }
        ftp.setConnectTimeout(timeoutMs);
        ftp.setDefaultTimeout(timeoutMs);
        ftp.setDataTimeout(Duration.ofMillis(timeoutMs));
        if (flags.containsKey("force-pasv-ip")) {
            // Use the control connection's address, not the one in 227 (3.9.0's default too).
            ftp.setIpAddressFromPasvResponse(false);
        }
        if (flags.containsKey("prefer-epsv")) {
            ftp.setUseEPSVwithIPv4(true);
        }
        if (flags.containsKey("disable-epsv")) {
            ftp.setUseEPSVwithIPv4(false);
        }

        ftp.connect(host, port);
        try {
            ftp.setSoTimeout(timeoutMs);
            check(ftp, FTPReply.isPositiveCompletion(ftp.getReplyCode()), "connect");
            check(ftp, ftp.login(user, password), "login");
            if (tls) {
                FTPSClient ftps = (FTPSClient) ftp;
                ftps.execPBSZ(0);
                ftps.execPROT("P");
                check(ftp, FTPReply.isPositiveCompletion(ftp.getReplyCode()), "PROT P");
                if (flags.containsKey("ccc")) {
                    check(ftp, FTPReply.isPositiveCompletion(ftps.execCCC()), "CCC");
                }
            }
            if (flags.containsKey("active")) {
                // connect() resets these, so they come after it.
                if (flags.containsKey("port-range")) {
                    String[] r = flags.get("port-range").split("-");
                    ftp.setActivePortRange(Integer.parseInt(r[0]), Integer.parseInt(r[1]));
                }
                if (flags.containsKey("external-ip")) {
                    // setActiveExternalIPAddress would also bind the listener to that address, which
                    // is the NAT's, not ours: report it in PORT/EPRT only.
                    ftp.setReportActiveExternalIPAddress(flags.get("external-ip"));
                }
                ftp.enterLocalActiveMode();
            } else {
                ftp.enterLocalPassiveMode();
            }
            check(ftp, ftp.setFileType(FTP.BINARY_FILE_TYPE), "TYPE I");
            switch (action) {
                case "download":
                    download(ftp, path, local);
                    break;
                case "upload":
                    upload(ftp, local, path);
                    break;
                case "list":
                    list(ftp, path, local);
                    break;
                case "session":
                    session(ftp, local);
                    break;
                default:
                    throw new IllegalArgumentException("unknown action " + action);
            }
            ftp.logout();
        } finally {
            if (ftp.isConnected()) {
                try {
                    ftp.disconnect();
                } catch (Exception ignored) {
                }
            }
        }
    }
}
