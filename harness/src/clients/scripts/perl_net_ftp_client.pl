# ftpspec's perl-net-ftp client: one action with Perl's Net::FTP (libnet), as a user's script
# would. FTPS needs IO::Socket::SSL.
# argv: host port user password action path local_file timeout ca_file flags
# flags (comma list): active, ftps, ftps-implicit, ccc.
# A session (action "session") reads its steps from local_file, one a line: "list PATH",
# "download PATH LOCAL_FILE", "upload LOCAL_FILE PATH"; all on this one control connection.
use strict;
use warnings;
use Net::FTP;

my ($host, $port, $user, $password, $action, $path, $local, $timeout, $ca, $flags) = @ARGV;
my %flag = map { $_ => 1 } grep { length } split /,/, ($flags // '');
my $warned = '';
# Net::FTP carps some failures (a data connection's TLS handshake): keep them for the message.
$SIG{__WARN__} = sub { ($warned = $_[0]) =~ s/\s+\z//; };
my $ftp;

sub fail {
    my ($what, $why) = @_;
    my $msg = $why || ($ftp ? $ftp->message : '') || '';
    $msg =~ s/\s+\z//;
    $msg = (split /\n/, $msg)[0] // '';
    $msg = $msg ? "$msg ($warned)" : $warned if $warned;
    print STDERR "$what: ", ($msg || 'failed'), "\n";
    exit 1;
}
# The TLS library's last error, for a failed handshake.
sub tls_error { no warnings 'once'; return $IO::Socket::SSL::SSL_ERROR || '' }

my @tls;
if ($flag{ftps} || $flag{'ftps-implicit'}) {
    @tls = (
        SSL_ca_file     => $ca,
        SSL_verify_mode => 1,    # SSL_VERIFY_PEER; the name checked is $host (an IP literal)
    );
}
$ftp = Net::FTP->new(
    $host,
    Port    => $port,
    Timeout => $timeout,    # connects, accepts, reads and writes, control and data
    Passive => $flag{active} ? 0 : 1,
    ($flag{'ftps-implicit'} ? (SSL => 1) : ()),
    @tls,
) or do { my $e = $@ || 'failed'; $e =~ s/\s+\z//; print STDERR "connect: $e\n"; exit 1 };
if ($flag{ftps}) {
    $ftp->starttls or fail('AUTH TLS', tls_error());    # AUTH TLS, then PBSZ 0 and PROT P
}
$ftp->login($user, $password) or fail('login');
if ($flag{'ftps-implicit'}) {
    $ftp->prot('P') or fail('PROT P');
}
if ($flag{ccc}) {
    $ftp->stoptls or fail('CCC', tls_error());
}
$ftp->binary or fail('TYPE I');

sub download {
    my ($path, $local) = @_;
    $ftp->get($path, $local) or fail('RETR');
}

sub upload {
    my ($local, $path) = @_;
    $ftp->put($local, $path) or fail('STOR');
}

# The listing goes to $local, or is dropped when there is none (a session's step).
sub listing {
    my ($path, $local) = @_;
    my @lines = $ftp->dir($path);
    $ftp->ok or fail('LIST');
    return unless defined $local;
    open(my $out, '>', $local) or do { print STDERR "$local: $!\n"; exit 1 };
    print $out map { "$_\n" } @lines;
    close($out) or do { print STDERR "$local: $!\n"; exit 1 };
}

if ($action eq 'download') {
    download($path, $local);
} elsif ($action eq 'upload') {
    upload($local, $path);
} elsif ($action eq 'list') {
    listing($path, $local);
} elsif ($action eq 'session') {
    open(my $script, '<', $local) or do { print STDERR "$local: $!\n"; exit 1 };
    my @steps = <$script>;
    close($script);
    for my $line (@steps) {
        my @w = split ' ', $line;
        next unless @w;
        $warned = '';    # a failure's message is this step's, not an earlier step's warning
        if ($w[0] eq 'download' && @w == 3) {
            download($w[1], $w[2]);
        } elsif ($w[0] eq 'upload' && @w == 3) {
            upload($w[1], $w[2]);
        } elsif ($w[0] eq 'list' && @w == 2) {
            listing($w[1], undef);
        } else {
            $line =~ s/\s+\z//;
            print STDERR "bad step in $local: $line\n";
            exit 2;
        }
    }
} else {
    print STDERR "unknown action $action\n";
    exit 2;
}
$ftp->quit or fail('QUIT');
