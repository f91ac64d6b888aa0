# ftpspec's perl-net-ftp client: one action with Perl's Net::FTP (libnet), as a user's script
# would. FTPS needs IO::Socket::SSL.
# argv: host port user password action path local_file timeout ca_file flags
# flags (comma list): active, ftps, ftps-implicit, ccc.
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
if ($action eq 'download') {
    $ftp->get($path, $local) or fail('RETR');
} elsif ($action eq 'upload') {
    $ftp->put($local, $path) or fail('STOR');
} elsif ($action eq 'list') {
    my @lines = $ftp->dir($path);
    $ftp->ok or fail('LIST');
    open(my $out, '>', $local) or do { print STDERR "$local: $!\n"; exit 1 };
    print $out map { "$_\n" } @lines;
    close($out) or do { print STDERR "$local: $!\n"; exit 1 };
} else {
    print STDERR "unknown action $action\n";
    exit 2;
}
$ftp->quit or fail('QUIT');
