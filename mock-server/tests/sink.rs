//! The upload sink (`/sink/...`): uploads of any size summed (and, under `/sink/gen/SIZE`,
//! checked against `/gen/SIZE`) as they arrive, at constant memory; driven by a raw client.

mod common;

use common::Ctl;
use ftpspec_mock::sink::{checksum, Checksum, GenCheck};
use ftpspec_mock::{generated, EventKind, MockServer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const MIB: usize = 1 << 20;

/// STOR `line`, sending `size` bytes of the `/gen` pattern 1 MiB at a time (with `flip` the
/// byte at that offset changed); returns the final reply code and the checksum of what was
/// sent.
async fn upload_gen(c: &mut Ctl, line: &str, size: usize, flip: Option<usize>) -> (u16, String) {
    let addr = c.pasv().await;
    let mut data = TcpStream::connect(addr).await.unwrap();
    let (code, text) = c.cmd(line).await;
    assert_eq!(code, 150, "{text}");
    let mut sum = Checksum::default();
    let mut buf = vec![0u8; MIB];
    let mut pos = 0;
    while pos < size {
        let n = MIB.min(size - pos);
        generated::fill(pos as u64, &mut buf[..n]);
        if let Some(at) = flip.filter(|at| (pos..pos + n).contains(at)) {
            buf[at - pos] ^= 0x01;
        }
        sum.update(&buf[..n]);
        data.write_all(&buf[..n]).await.unwrap();
        pos += n;
    }
    drop(data);
    (c.reply().await.0, format!("{:016x}", sum.value()))
}

#[tokio::test]
async fn a_large_upload_is_summed_checked_and_not_kept() {
    // An upload limit far below the upload: the sink does not count against it.
    let server = MockServer::builder()
        .upload_limit(MIB as u64)
        .start()
        .await
        .unwrap();
    let held = server.bytes_held();
    let mut c = Ctl::login(server.addr()).await;
    c.cmd("TYPE I").await;
    let size = 64 * MIB;
    let (code, sum) = upload_gen(&mut c, "STOR /sink/gen/64M", size, None).await;
    assert_eq!(code, 226);
    assert_eq!(server.bytes_held(), held, "the server holds none of it");
    assert!(server.file("/sink/gen/64M").is_none());
    let log = server.events();
    let (stored, digest) = log.sink_upload("/sink/gen/64M").expect("a sink upload");
    assert_eq!(stored, size as u64);
    assert_eq!(digest.checksum, sum);
    assert_eq!(digest.gen, Some(GenCheck::Match));
    assert!(log.stored_complete("/sink/gen/64M"));
    assert!(log.events.iter().any(|e| matches!(
        &e.kind,
        EventKind::Stored { path, kept: false, sink: Some(_), .. } if path == "/sink/gen/64M"
    )));
    assert_eq!(
        c.cmd("SIZE /sink/gen/64M").await,
        (213, "213 67108864\r\n".into())
    );
    let (listing, _) = c.download("NLST /sink/gen").await;
    assert_eq!(listing, b"/sink/gen/64M\r\n");
    let (code, text) = c.cmd("RETR /sink/gen/64M").await;
    assert_eq!(code, 550, "{text}");
    assert!(text.contains("keeps no bytes"), "{text}");
}

#[tokio::test]
async fn a_wrong_upload_to_a_verifying_sink_is_recorded_as_a_mismatch() {
    let server = MockServer::builder().start().await.unwrap();
    let mut c = Ctl::login(server.addr()).await;
    c.cmd("TYPE I").await;
    // Accepted (226): the sink records, the judge decides.
    let flip = 3 * MIB + 12_345;
    assert_eq!(
        upload_gen(&mut c, "STOR /sink/gen/4M", 4 * MIB, Some(flip))
            .await
            .0,
        226
    );
    assert_eq!(
        upload_gen(&mut c, "STOR /sink/gen/2M", MIB, None).await.0,
        226
    );
    assert_eq!(
        upload_gen(&mut c, "STOR /sink/gen/1K", 1025, None).await.0,
        226
    );
    let log = server.events();
    let check = |path| log.sink_upload(path).unwrap().1.gen;
    assert_eq!(
        check("/sink/gen/4M"),
        Some(GenCheck::Mismatch { at: flip as u64 })
    );
    assert_eq!(
        check("/sink/gen/2M"),
        Some(GenCheck::Mismatch { at: MIB as u64 }),
        "short"
    );
    assert_eq!(
        check("/sink/gen/1K"),
        Some(GenCheck::Mismatch { at: 1024 }),
        "long"
    );
    let line = log
        .events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::Stored { path, .. } if path == "/sink/gen/4M"))
        .unwrap()
        .to_string();
    assert!(
        line.contains(&format!("NOT equal to /gen from byte {flip}")),
        "{line}"
    );
}

#[tokio::test]
async fn any_name_takes_any_bytes_as_sent_and_bad_names_are_refused() {
    let server = MockServer::builder().start().await.unwrap();
    let mut c = Ctl::login(server.addr()).await;
    // TYPE A: the sink sums the bytes on the wire, unconverted.
    c.cmd("TYPE A").await;
    let text = b"one\r\ntwo\r\n";
    assert_eq!(c.upload("STOR /sink/deep/notes.txt", text).await, 226);
    let log = server.events();
    let (size, digest) = log.sink_upload("/sink/deep/notes.txt").unwrap();
    assert_eq!(size, text.len() as u64);
    assert_eq!(digest.checksum, checksum(text));
    assert_eq!(digest.gen, None);
    assert_eq!(c.cmd("SIZE /sink/deep/notes.txt").await.0, 213);
    // Not a size under /sink/gen; REST into a sink (nothing to resume); RETR of a sink path.
    c.cmd("PASV").await;
    assert_eq!(c.cmd("STOR /sink/gen/big").await.0, 553);
    assert_eq!(c.cmd("REST 10").await.0, 350);
    c.cmd("PASV").await;
    assert_eq!(c.cmd("STOR /sink/deep/notes.txt").await.0, 553);
    c.cmd("PASV").await;
    assert_eq!(c.cmd("RETR /sink/nothing-here").await.0, 550);
    assert_eq!(c.cmd("DELE /sink/deep/notes.txt").await.0, 250);
    assert_eq!(c.cmd("SIZE /sink/deep/notes.txt").await.0, 550);
}
