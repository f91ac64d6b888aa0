//! The report in a real browser: headless Chromium (Debian's `chromium`, installed by
//! scripts/install-deps) opens it from disk; the DOM after its script ran shows that the
//! filters, the detail view (unpacked on demand), its ladder diagram, deep links and the
//! coverage links work, and a screenshot is taken.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn chromium() -> &'static str {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c;
        }
    }
    panic!("no Chromium found: apt-get install chromium (scripts/install-deps installs it)");
}

/// Runs headless Chromium with a fresh profile on `url`; returns stdout.
fn run_chromium(profile: &Path, extra: &[&str], url: &str) -> String {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Read while it runs: a DOM bigger than the pipe's buffer would block it otherwise.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        out
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed ({status}) on {url}");
            return reader.join().unwrap();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish on {url} within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn row<'a>(dom: &'a str, scenario: &str) -> &'a str {
    let start = dom
        .find(&format!("data-scenario=\"{scenario}\""))
        .unwrap_or_else(|| panic!("no row for {scenario}"));
    let open = dom[..start].rfind("<tr").unwrap();
    &dom[open..start + dom[start..].find('>').unwrap()]
}

#[test]
fn filters_and_detail_view_work_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("index.html");
    std::fs::write(&page, ftpspec_report::html::html(&common::fixture(), None)).unwrap();
    let url = format!("file://{}", page.display());
    let profile = dir.path().join("profile");

    // As opened: every row shown, no case open.
    let dom = run_chromium(&profile, &["--dump-dom"], &url);
    assert!(
        dom.contains("<span id=\"shown\">3</span>"),
        "all 3 scenarios shown"
    );
    assert!(!row(&dom, "passive/epsv-blocked").contains("hidden"));
    assert!(!dom.contains("class=\"case open\""));

    // Verdict filter: only rows with a failure remain.
    let dom = run_chromium(&profile, &["--dump-dom"], &format!("{url}#verdict=fail"));
    assert!(
        !row(&dom, "passive/unroutable-address").contains("hidden"),
        "{}",
        row(&dom, "passive/unroutable-address")
    );
    assert!(row(&dom, "passive/epsv-blocked").contains("hidden"));
    assert!(row(&dom, "upload/passive-upload").contains("hidden"));
    assert!(dom.contains("<span id=\"shown\">1</span>"));

    // Client filter: the other client's column is hidden.
    let dom = run_chromium(&profile, &["--dump-dom"], &format!("{url}#client=wget"));
    assert!(
        dom.contains("<th data-client=\"curl\" hidden=\"\">"),
        "curl's column hidden"
    );
    assert!(dom.contains("<th data-client=\"wget\">"));

    // Detail view: the case named in the address opens.
    let dom = run_chromium(
        &profile,
        &["--dump-dom"],
        &format!("{url}#case-wget--passive-unroutable-address"),
    );
    assert!(
        dom.contains("class=\"case open\" id=\"case-wget--passive-unroutable-address\""),
        "the case opened"
    );
    assert_eq!(dom.matches("class=\"case open\"").count(), 1);

    // A screenshot, to look at (kept next to the test's temporary report while it runs).
    let shot = dir.path().join("report.png");
    run_chromium(
        &profile,
        &[
            "--window-size=1400,2400",
            &format!("--screenshot={}", shot.display()),
        ],
        &format!("{url}#case-wget--passive-unroutable-address"),
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 20_000,
        "a real screenshot, not a blank page: {size} bytes"
    );
    if let Ok(keep) = std::env::var("FTPSPEC_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

/// The report with a probe appended: after load it clicks `click` (a CSS selector), waits,
/// and writes what it measured into `<body data-probe>`: where `target` is in the viewport
/// before and after, the viewport's height, the scroll offset and the address's fragment.
fn probe(page: &str, click: &str, target: &str) -> String {
    let script = format!(
        r#"<script>window.addEventListener('load',function(){{
  var t=function(){{return Math.round(document.getElementById({target:?}).getBoundingClientRect().top);}};
  var before=t();document.querySelector({click:?}).click();
  setTimeout(function(){{document.body.setAttribute('data-probe',
    'before='+before+' after='+t()+' height='+innerHeight+' scrolled='+Math.round(scrollY)+' hash='+location.hash+' hidden='+!!document.getElementById({target:?}).closest('[hidden]'));}},300);}});</script></body>"#
    );
    page.replace("</body>", &script)
}

fn probed(dom: &str) -> std::collections::BTreeMap<String, String> {
    let start = dom.find("data-probe=\"").expect("the probe ran") + "data-probe=\"".len();
    let text = &dom[start..start + dom[start..].find('"').unwrap()];
    text.split(' ')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn coverage_links_scroll_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let report = ftpspec_report::html::html(&common::fixture(), None);
    let profile = dir.path().join("profile");
    let run = |name: &str, click: &str, target: &str, hash: &str| {
        let page = dir.path().join(name);
        std::fs::write(&page, probe(&report, click, target)).unwrap();
        let url = format!("file://{}{hash}", page.display());
        let dom = run_chromium(
            &profile,
            &[
                "--window-size=1200,400",
                "--virtual-time-budget=5000",
                "--dump-dom",
            ],
            &url,
        );
        probed(&dom)
    };
    let num =
        |p: &std::collections::BTreeMap<String, String>, k: &str| -> i64 { p[k].parse().unwrap() };

    // The Coverage link at the top scrolls the section into view.
    let p = run("top.html", "nav.top a[href='#coverage']", "coverage", "");
    assert_eq!(p["hash"], "#coverage", "{p:?}");
    assert!(
        num(&p, "before") >= num(&p, "height"),
        "below the fold at first: {p:?}"
    );
    assert!(num(&p, "scrolled") > 0, "{p:?}");
    assert!(
        (0..num(&p, "height") / 2).contains(&num(&p, "after")),
        "scrolled to: {p:?}"
    );

    // A scenario in the coverage section leads to its row in the matrix, even when a filter
    // hid that row (the filters are cleared).
    let p = run(
        "row.html",
        "#coverage a[href='#row-passive-epsv-blocked']",
        "row-passive-epsv-blocked",
        "#verdict=fail",
    );
    assert_eq!(
        (p["hash"].as_str(), p["hidden"].as_str()),
        ("#row-passive-epsv-blocked", "false"),
        "{p:?}"
    );
    assert!(
        (0..num(&p, "height")).contains(&num(&p, "after")),
        "the row in view: {p:?}"
    );
}

/// A case's diagnostics bundle, written beside the report, is linked from its detail view,
/// and the link opens the bundle from disk (a scenario id with an axis in it too).
#[test]
fn the_diagnostics_link_opens_the_bundle_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let run = common::fixture_with_bundle(
        "passive/unroutable-address@tls=explicit",
        "== nat: conntrack -L expect ==\nhelper=ftp\n",
    );
    run.write(dir.path(), None).unwrap();
    let url = format!("file://{}", dir.path().join("index.html").display());
    let profile = dir.path().join("profile");
    let dom = run_chromium(
        &profile,
        &["--virtual-time-budget=5000", "--dump-dom"],
        &format!("{url}#case-wget--passive-unroutable-address-tls-explicit"),
    );
    let open = dom
        .find("class=\"case open\" id=\"case-wget--passive-unroutable-address-tls-explicit\"")
        .expect("the case opened");
    let view = &dom[open..open + dom[open..].find("</article>").unwrap()];
    let href = "cases/wget/passive_2funroutable-address@tls=explicit/diagnostics.txt";
    assert!(
        view.contains(&format!(
            "<a class=\"diagnostics\" href=\"{href}\">Diagnostics bundle</a>"
        )),
        "{view}"
    );
    assert_eq!(
        dom.matches("class=\"diagnostics\"").count(),
        2,
        "one case has a bundle"
    );
    let bundle = run_chromium(
        &profile,
        &["--dump-dom"],
        &format!("file://{}/{href}", dir.path().display()),
    );
    assert!(bundle.contains("helper=ftp"), "{bundle}");
}

/// The report with a probe appended: once the case named in the address has opened (its
/// details unpacked: `<body data-opened>`), it writes into `<body data-probe>` where the case
/// is in the viewport and, from its ladder, where the dropped connection's arrow ends, which
/// lane is there and whether the arrow is marked.
fn ladder_probe(page: &str) -> String {
    let script = r#"<script>window.addEventListener('load',function(){
  var tries=0;(function wait(){
    var id=document.body.getAttribute('data-opened');
    if(!id){if(++tries<100)setTimeout(wait,20);return;}
    var c=document.getElementById(id),svg=c.querySelector('svg.ladder'),drop=svg&&svg.querySelector('g.arrow.drop');
    var end=drop?Math.round(+drop.querySelector('line').getAttribute('x2')):-1;
    var lane=svg?[].filter.call(svg.querySelectorAll(':scope>text[font-weight]'),function(t){return Math.round(+t.getAttribute('x'))===end;}).map(function(t){return t.textContent;}).join('+'):'';
    document.body.setAttribute('data-probe','top='+Math.round(c.getBoundingClientRect().top)+' height='+innerHeight+
      ' drops='+(svg?svg.querySelectorAll('g.arrow.drop').length:0)+' from='+(drop?drop.getAttribute('data-from'):'')+
      ' to='+(drop?drop.getAttribute('data-to'):'')+' lane='+lane+' marked='+!!(drop&&drop.querySelector('g.x'))+
      ' text='+(drop?encodeURIComponent(drop.querySelector(':scope>text:last-of-type').textContent):''));
  })();});</script></body>"#;
    page.replace("</body>", script)
}

/// wget in passive/unroutable-address (the fixture mirrors the real run): opened by a deep
/// link, the case lands at the top of the viewport, and its ladder has one dropped
/// connection, from the client to the NAT's lane, marked with an X.
#[test]
fn the_ladder_shows_the_drop_at_the_nat_and_deep_links_land_on_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("index.html");
    std::fs::write(
        &page,
        ladder_probe(&ftpspec_report::html::html(&common::fixture(), None)),
    )
    .unwrap();
    let profile = dir.path().join("profile");
    let dom = run_chromium(
        &profile,
        &[
            "--window-size=1200,600",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ],
        &format!(
            "file://{}#case-wget--passive-unroutable-address",
            page.display()
        ),
    );
    let p = probed(&dom);
    assert_eq!(
        (
            p["drops"].as_str(),
            p["from"].as_str(),
            p["to"].as_str(),
            p["lane"].as_str(),
            p["marked"].as_str()
        ),
        ("1", "client", "nat", "nat", "true"),
        "{p:?}"
    );
    assert_eq!(
        p["text"], "connect%2010.0.0.2%3A50000%3A%20dropped",
        "{p:?}"
    );
    let top: i64 = p["top"].parse().unwrap();
    assert!(
        top.abs() <= 2,
        "the case's top at the viewport's top: {p:?}"
    );
    // The curl case's details stay packed: only the opened case was unpacked.
    assert_eq!(dom.matches("<svg class=\"ladder\"").count(), 1);
}

/// In a report of many cases (300 scenarios x 2 clients, 300 packs), a deep link to a case
/// far down still opens it, unpacked from its own scenario's pack, at the viewport's top.
#[test]
fn deep_links_land_on_the_case_in_a_long_report() {
    let mut run = common::fixture();
    let template: Vec<_> = run
        .results
        .iter()
        .filter(|r| r.scenario == "passive/unroutable-address")
        .cloned()
        .collect();
    for n in 0..300 {
        for r in &template {
            let mut r = r.clone();
            r.scenario = format!("many/case-{n:03}");
            run.results.push(r);
        }
    }
    run.sort();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("index.html");
    std::fs::write(&page, ladder_probe(&ftpspec_report::html::html(&run, None))).unwrap();
    let dom = run_chromium(
        &dir.path().join("profile"),
        &[
            "--window-size=1200,600",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ],
        &format!("file://{}#case-wget--many-case-217", page.display()),
    );
    let p = probed(&dom);
    let top: i64 = p["top"].parse().unwrap();
    assert!(
        top.abs() <= 2,
        "the case's top at the viewport's top: {p:?}"
    );
    assert_eq!(
        (p["drops"].as_str(), p["lane"].as_str()),
        ("1", "nat"),
        "{p:?}"
    );
    let open = dom
        .find("class=\"case open\" id=\"case-wget--many-case-217\"")
        .expect("the case opened");
    let view = &dom[open..open + dom[open..].find("</article>").unwrap()];
    assert!(view.contains("wget --flag"), "its own detail view: {view}");
    assert_eq!(
        dom.matches("<svg class=\"ladder\"").count(),
        1,
        "only it unpacked"
    );
}
