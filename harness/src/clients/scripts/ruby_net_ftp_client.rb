# ftpspec's ruby-net-ftp client: one action with Ruby's net/ftp, as a user's script would.
# argv: host port user password action path local_file timeout ca_file flags
# flags (comma list): active, ftps, deadline=SECS (a watchdog over the whole run: net/ftp has
# no timeout for accepting an active-mode data connection, nor for writes).
# A session (action "session") reads its steps from local_file, one a line: "list PATH",
# "download PATH LOCAL_FILE", "upload LOCAL_FILE PATH"; all on this one control connection.
require "net/ftp"
require "openssl"
require "timeout"

begin
  host, port, user, password, action, path, local, timeout, ca, flags = ARGV[0, 10]
  flags = (flags || "").split(",").reject(&:empty?)
  deadline = flags.find { |f| f.start_with?("deadline=") }
  deadline = deadline ? deadline.split("=", 2)[1].to_i : nil
  timeout = timeout.to_i
  opts = {
    port: port.to_i,
    passive: !flags.include?("active"),
    # false is net/ftp's default: use the control connection's address, not the 227's.
    use_pasv_ip: false,
    open_timeout: timeout,
    read_timeout: timeout,
    ssl_handshake_timeout: timeout,
  }
  if flags.include?("ftps")
    opts[:ssl] = { ca_file: ca, verify_mode: OpenSSL::SSL::VERIFY_PEER }
  end
  Timeout.timeout(deadline) do
    ftp = Net::FTP.new(host, opts)
    ftp.login(user, password)
    ftp.binary = true
    case action
    when "download"
      ftp.getbinaryfile(path, local)
    when "upload"
      ftp.putbinaryfile(local, path)
    when "list"
      lines = ftp.list(path)
      File.write(local, lines.map { |l| l + "\n" }.join)
    when "session"
      File.readlines(local).each do |line|
        words = line.split
        next if words.empty?
        case [words[0], words.size]
        when ["download", 3]
          ftp.getbinaryfile(words[1], words[2])
        when ["upload", 3]
          ftp.putbinaryfile(words[1], words[2])
        when ["list", 2]
          ftp.list(words[1]) # the listing is dropped
        else
          raise ArgumentError, "bad step in #{local}: #{line.strip}"
        end
      end
    else
      raise ArgumentError, "unknown action #{action}"
    end
    ftp.quit
    ftp.close
  end
rescue Exception => e
  raise if e.is_a?(SystemExit)
  $stderr.puts "#{e.class}: #{e.message}".lines.first.to_s.chomp
  exit 1
end
