//! Writing pcapng (the IETF draft `draft-ietf-opsawg-pcapng`): a section header, one
//! interface description per captured interface (named, nanosecond timestamps), a
//! Decryption Secrets Block with the TLS keys, and the packets. Little-endian, which every
//! reader takes from the byte-order magic.

/// Section Header Block.
const SHB: u32 = 0x0A0D_0D0A;
/// Interface Description Block.
const IDB: u32 = 0x0000_0001;
/// Enhanced Packet Block.
const EPB: u32 = 0x0000_0006;
/// Decryption Secrets Block.
const DSB: u32 = 0x0000_000A;
/// The secrets type of an NSS key log (`CLIENT_RANDOM ...` lines): "TLSK".
pub(crate) const SECRETS_TLS_KEY_LOG: u32 = 0x544C_534B;
/// `LINKTYPE_ETHERNET`: what a veth carries.
const LINKTYPE_ETHERNET: u16 = 1;

/// Option codes.
const OPT_END: u16 = 0;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
const IF_TSRESOL: u16 = 9;
const EPB_FLAGS: u16 = 2;

/// Which way a packet went through its interface (`epb_flags` bits 0-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Received on the interface.
    Inbound,
    /// Sent out of it.
    Outbound,
}

/// One captured packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packet {
    /// Nanoseconds since the Unix epoch (CLOCK_REALTIME, the same in every namespace).
    pub(crate) ts_ns: u64,
    /// Index of its interface in the file's interface list.
    pub(crate) iface: u32,
    /// Its length on the wire (more than `data.len()` when cut).
    pub(crate) orig_len: u32,
    /// Which way it went, when known.
    pub(crate) direction: Option<Direction>,
    /// The bytes kept.
    pub(crate) data: Vec<u8>,
}

/// A block: type, total length, body padded to 32 bits, total length again.
fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let total = 12 + padded(body.len());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + padded(body.len()) - body.len(), 0);
    out.extend_from_slice(&(total as u32).to_le_bytes());
}

fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// An option (code, length, value padded to 32 bits).
fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    body.resize(body.len() + padded(value.len()) - value.len(), 0);
}

fn end_of_options(body: &mut Vec<u8>) {
    body.extend_from_slice(&OPT_END.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
}

/// A whole file: `interfaces` as (name, description) in interface-id order, the NSS key log
/// `tls_keys` in a Decryption Secrets Block before any packet (none when empty), then the
/// packets in the order given.
pub(crate) fn write(
    interfaces: &[(String, String)],
    tls_keys: &str,
    packets: &[Packet],
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut body = Vec::new();
    body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes());
    option(&mut body, SHB_USERAPPL, b"ftpspec");
    end_of_options(&mut body);
    block(&mut out, SHB, &body);
    for (name, description) in interfaces {
        let mut body = Vec::new();
        body.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        option(&mut body, IF_NAME, name.as_bytes());
        if !description.is_empty() {
            option(&mut body, IF_DESCRIPTION, description.as_bytes());
        }
        option(&mut body, IF_TSRESOL, &[9]);
        end_of_options(&mut body);
        block(&mut out, IDB, &body);
    }
    if !tls_keys.is_empty() {
        let mut body = Vec::new();
        body.extend_from_slice(&SECRETS_TLS_KEY_LOG.to_le_bytes());
        body.extend_from_slice(&(tls_keys.len() as u32).to_le_bytes());
        body.extend_from_slice(tls_keys.as_bytes());
        body.resize(padded(body.len()), 0);
        block(&mut out, DSB, &body);
    }
    for p in packets {
        let mut body = Vec::with_capacity(32 + p.data.len());
        body.extend_from_slice(&p.iface.to_le_bytes());
        body.extend_from_slice(&((p.ts_ns >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(p.ts_ns as u32).to_le_bytes());
        body.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        body.extend_from_slice(&p.orig_len.to_le_bytes());
        body.extend_from_slice(&p.data);
        body.resize(padded(body.len()), 0);
        if let Some(d) = p.direction {
            let flags: u32 = match d {
                Direction::Inbound => 1,
                Direction::Outbound => 2,
            };
            option(&mut body, EPB_FLAGS, &flags.to_le_bytes());
            end_of_options(&mut body);
        }
        block(&mut out, EPB, &body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    /// The blocks of a file as (type, body), checking each block's two lengths agree and
    /// are multiples of 4.
    fn blocks(mut b: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let (kind, len) = (u32_at(b, 0), u32_at(b, 4) as usize);
            assert_eq!(len % 4, 0, "block length {len}");
            assert_eq!(u32_at(b, len - 4) as usize, len, "trailing length");
            out.push((kind, b[8..len - 4].to_vec()));
            b = &b[len..];
        }
        out
    }

    #[test]
    fn a_file_has_its_blocks_in_order_with_names_keys_and_packets() {
        let ifaces = vec![
            ("client:eth0".to_owned(), "ftpspec-1-2-client".to_owned()),
            ("nat:wan".to_owned(), String::new()),
        ];
        let keys = "CLIENT_RANDOM 00 11\n";
        let packets = vec![Packet {
            ts_ns: 0x1_0000_0002,
            iface: 1,
            orig_len: 70,
            direction: Some(Direction::Outbound),
            data: vec![0xAB; 5],
        }];
        let file = write(&ifaces, keys, &packets);
        let b = blocks(&file);
        let kinds: Vec<u32> = b.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [SHB, IDB, IDB, DSB, EPB]);
        assert_eq!(u32_at(&b[0].1, 0), 0x1A2B_3C4D);
        // IDB: link type, then if_name "client:eth0" (11 bytes, padded to 12).
        let idb = &b[1].1;
        assert_eq!(u16::from_le_bytes([idb[0], idb[1]]), LINKTYPE_ETHERNET);
        assert_eq!(u16::from_le_bytes([idb[8], idb[9]]), IF_NAME);
        assert_eq!(u16::from_le_bytes([idb[10], idb[11]]), 11);
        assert_eq!(&idb[12..23], b"client:eth0");
        let tail = &b[2].1;
        assert_eq!(
            &tail[tail.len() - 12..tail.len() - 4],
            &[9, 0, 1, 0, 9, 0, 0, 0]
        );
        // DSB: "TLSK", the length, the text.
        let dsb = &b[3].1;
        assert_eq!(u32_at(dsb, 0), SECRETS_TLS_KEY_LOG);
        assert_eq!(u32_at(dsb, 4) as usize, keys.len());
        assert_eq!(&dsb[8..8 + keys.len()], keys.as_bytes());
        // EPB: interface, timestamp halves, lengths, data, then the direction flag.
        let epb = &b[4].1;
        assert_eq!(
            [0, 4, 8, 12, 16].map(|at| u32_at(epb, at)),
            [1, 1, 2, 5, 70]
        );
        assert_eq!(&epb[20..25], &[0xAB; 5]);
        assert_eq!(u16::from_le_bytes([epb[28], epb[29]]), EPB_FLAGS);
        assert_eq!(u32_at(epb, 32), 2);
    }

    #[test]
    fn no_keys_no_secrets_block() {
        let file = write(&[("a:b".into(), String::new())], "", &[]);
        let kinds: Vec<u32> = blocks(&file).iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [SHB, IDB]);
    }
}
