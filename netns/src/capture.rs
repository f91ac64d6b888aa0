//! Packet captures of a topology: an `AF_PACKET` socket on each interface of each host
//! (switches aside: their ports carry what the hosts' own ends do), opened inside the host's
//! namespace, all read by one thread, kernel timestamps (CLOCK_REALTIME, one clock for every
//! namespace, so the interfaces line up), written as one pcapng with an interface per
//! `host:link` and the TLS keys in a Decryption Secrets Block. Only interfaces of namespaces
//! the topology created are opened.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::libc;

use crate::pcapng::{self, Direction, Packet};
use crate::{Error, Topology};

/// How much a capture keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureLimits {
    /// Packet bytes kept whole, over all interfaces; past it each packet keeps only its first
    /// [`CaptureLimits::cut_to`] bytes (its headers), so a large transfer stays bounded
    /// while every connection and its end still show.
    pub whole_bytes: usize,
    /// What a packet keeps past `whole_bytes`.
    pub cut_to: usize,
}

impl Default for CaptureLimits {
    fn default() -> Self {
        CaptureLimits {
            whole_bytes: 16 << 20,
            cut_to: 128,
        }
    }
}

/// A capture running on every interface of a topology ([`Topology::start_capture`]). Stop it
/// with [`Capture::finish`] before the topology goes; dropping it stops it too.
#[derive(Debug)]
pub struct Capture {
    interfaces: Vec<(String, String)>,
    stop: Arc<AtomicBool>,
    /// An eventfd in the reader's poll set: written to stop it at once.
    wake: Arc<OwnedFd>,
    thread: Option<std::thread::JoinHandle<Vec<Packet>>>,
}

/// What a capture recorded ([`Capture::finish`]).
#[derive(Debug, Clone)]
pub struct Recording {
    interfaces: Vec<(String, String)>,
    packets: Vec<Packet>,
}

impl Topology {
    /// Starts capturing on every interface of every host (but switches): each packet with
    /// its kernel timestamp and direction, named `host:link` (`nat:wan`). Call it once the
    /// topology is built (its links are up) and finish it before tearing down.
    pub fn start_capture(&self, limits: CaptureLimits) -> Result<Capture, Error> {
        let mut interfaces = Vec::new();
        let mut sockets = Vec::new();
        for link in &self.spec().links {
            for end in [&link.a, &link.b] {
                if self.spec().hosts.get(&end.host).is_some_and(|h| h.switch) {
                    continue;
                }
                let host = self.host(&end.host).expect("links join declared hosts");
                let iface = end.iface.clone();
                let fd =
                    host.in_thread(move || open(&iface))?
                        .map_err(|error| Error::Namespace {
                            namespace: host.netns().to_owned(),
                            what: "opening a packet socket to capture on",
                            error,
                        })?;
                interfaces.push((
                    format!("{}:{}", end.host, end.iface),
                    format!("{} in {}", end.iface, host.netns()),
                ));
                sockets.push(fd);
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let wake = Arc::new(eventfd().map_err(|error| Error::Namespace {
            namespace: self.id().to_owned(),
            what: "making an eventfd for the capture thread",
            error,
        })?);
        let woken = wake.clone();
        let thread = std::thread::Builder::new()
            .name("netns-capture".into())
            .spawn(move || {
                let packets = read_all(&sockets, &woken, &flag, limits);
                // Closing a packet socket waits for an RCU grace period (synchronize_net),
                // some 15 ms each: close them on a thread of their own, off the case's path
                // (if it cannot start, they close here).
                let _ = std::thread::Builder::new()
                    .name("netns-capture-close".into())
                    .spawn(move || drop(sockets));
                packets
            })
            .map_err(|error| Error::Namespace {
                namespace: self.id().to_owned(),
                what: "starting the capture thread",
                error,
            })?;
        Ok(Capture {
            interfaces,
            stop,
            wake,
            thread: Some(thread),
        })
    }
}

impl Capture {
    /// Stops capturing (after reading what the sockets still hold) and returns the packets,
    /// in time order.
    pub fn finish(mut self) -> Recording {
        let mut packets = self.end();
        packets.sort_by_key(|p| p.ts_ns);
        Recording {
            interfaces: std::mem::take(&mut self.interfaces),
            packets,
        }
    }

    fn end(&mut self) -> Vec<Packet> {
        self.stop.store(true, Ordering::Relaxed);
        let one = 1u64.to_ne_bytes();
        // SAFETY: an 8-byte write from a local to the eventfd this capture owns.
        #[allow(unsafe_code)]
        let _ = unsafe { libc::write(self.wake.as_raw_fd(), one.as_ptr().cast(), one.len()) };
        self.thread
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.end();
    }
}

impl Recording {
    /// The interfaces' names (`host:link`), in the file's order.
    pub fn interfaces(&self) -> Vec<&str> {
        self.interfaces.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// How many packets were captured, over all interfaces.
    pub fn packets(&self) -> usize {
        self.packets.len()
    }

    /// The capture as pcapng, with `tls_keys` (NSS key log lines, `CLIENT_RANDOM ...`) in a
    /// Decryption Secrets Block, so Wireshark and tshark decrypt TLS with no set-up.
    pub fn to_pcapng(&self, tls_keys: &str) -> Vec<u8> {
        pcapng::write(&self.interfaces, tls_keys, &self.packets)
    }
}

/// The largest packet read (a veth may hand over GSO packets of up to 64 KiB).
const BUFFER: usize = 256 << 10;

/// Opens a packet socket bound to `iface` in the calling thread's namespace, with kernel
/// timestamps and a receive buffer big enough for a burst.
fn open(iface: &str) -> std::io::Result<OwnedFd> {
    let name = std::ffi::CString::new(iface).map_err(std::io::Error::other)?;
    // SAFETY: plain syscalls on a descriptor this function owns, with pointers to locals
    // that outlive each call and the lengths of what they point to.
    #[allow(unsafe_code)]
    unsafe {
        // Protocol 0: nothing is queued until the bind names the interface.
        let fd = libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        );
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let index = libc::if_nametoindex(name.as_ptr());
        if index == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let set = |opt: libc::c_int, value: libc::c_int| -> std::io::Result<()> {
            let r = libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            match r {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        };
        set(libc::SO_RCVBUFFORCE, 8 << 20).or_else(|_| set(libc::SO_RCVBUF, 8 << 20))?;
        set(libc::SO_TIMESTAMPNS, 1)?;
        let mut addr: libc::sockaddr_ll = std::mem::zeroed();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        addr.sll_ifindex = index as i32;
        let r = libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        );
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(fd)
    }
}

/// A non-blocking eventfd.
fn eventfd() -> std::io::Result<OwnedFd> {
    // SAFETY: a syscall that returns a new descriptor, owned at once.
    #[allow(unsafe_code)]
    unsafe {
        let fd = libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Reads every socket until `stop` (raised with a write to `wake`), then what they still
/// hold.
fn read_all(
    sockets: &[OwnedFd],
    wake: &OwnedFd,
    stop: &AtomicBool,
    limits: CaptureLimits,
) -> Vec<Packet> {
    let mut packets = Vec::new();
    let mut kept = 0usize;
    let mut buf = vec![0u8; BUFFER];
    let mut fds: Vec<libc::pollfd> = sockets
        .iter()
        .map(|s| libc::pollfd {
            fd: s.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .chain([libc::pollfd {
            fd: wake.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }])
        .collect();
    loop {
        let last = stop.load(Ordering::Relaxed);
        // SAFETY: `fds` is a live array of `fds.len()` pollfd.
        #[allow(unsafe_code)]
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 200) };
        if stop.load(Ordering::Relaxed) && !last {
            // Woken to stop: one more round reads what is left.
            continue;
        }
        if ready > 0 || last {
            for (i, s) in sockets.iter().enumerate() {
                while let Some(mut p) = receive(s, &mut buf) {
                    p.iface = i as u32;
                    if kept >= limits.whole_bytes {
                        p.data.truncate(limits.cut_to);
                    }
                    kept += p.data.len();
                    packets.push(p);
                }
            }
        }
        if last {
            return packets;
        }
        if ready < 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// One packet from the socket, if one is waiting.
fn receive(socket: &OwnedFd, buf: &mut [u8]) -> Option<Packet> {
    // SAFETY: recvmsg into `buf`, `from` and `control`, locals that outlive the call, with
    // their lengths; the control messages are walked with the libc macros within
    // `msg_controllen`.
    #[allow(unsafe_code)]
    unsafe {
        let mut from: libc::sockaddr_ll = std::mem::zeroed();
        let mut control = [0u64; 16];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = (&mut from as *mut libc::sockaddr_ll).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        let n = libc::recvmsg(
            socket.as_raw_fd(),
            &mut msg,
            libc::MSG_DONTWAIT | libc::MSG_TRUNC,
        );
        if n < 0 {
            return None;
        }
        let orig_len = n as usize;
        let mut ts_ns = None;
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let t = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                ts_ns = Some(t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        let direction = match from.sll_pkttype {
            libc::PACKET_OUTGOING => Some(Direction::Outbound),
            libc::PACKET_HOST | libc::PACKET_BROADCAST | libc::PACKET_MULTICAST => {
                Some(Direction::Inbound)
            }
            _ => None,
        };
        Some(Packet {
            ts_ns: ts_ns.unwrap_or_else(now_ns),
            iface: 0,
            orig_len: orig_len as u32,
            direction,
            data: buf[..orig_len.min(buf.len())].to_vec(),
        })
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}
