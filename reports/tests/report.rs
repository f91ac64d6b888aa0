//! Golden files for the HTML, JUnit and JSON of a fixed run; diffs; hostile input.

mod common;

use ftpspec_report::{diff, html, junit, RunResults, Verdict};

/// One element a line, so that a change to the report reads as a small diff; each case's
/// packed details unpacked in place.
fn lines(page: &str) -> String {
    common::unpacked(page).replace("><", ">\n<")
}

#[test]
fn html_golden() {
    insta::assert_snapshot!("index_html", lines(&html::html(&common::fixture(), None)));
}

#[test]
fn html_with_baseline_golden() {
    let new = common::fixture();
    let mut old = new.clone();
    for r in &mut old.results {
        if r.client == "wget" && r.scenario == "passive/unroutable-address" {
            r.verdict = Verdict::Pass;
        }
        if r.client == "curl" && r.scenario == "passive/epsv-blocked" {
            r.verdict = Verdict::Fail;
        }
    }
    let page = html::html(&new, Some(&old));
    // Regressions come first, before the counts and the matrix.
    let regressions = page.find("1 regression(s)").expect("a regressions list");
    assert!(regressions < page.find("id=\"summary\"").unwrap());
    assert!(page.contains("▼ was pass"), "the worse cell is marked");
    insta::assert_snapshot!("index_html_baseline", lines(&page));
}

#[test]
fn junit_golden() {
    let xml = junit::junit(&common::fixture());
    assert!(xml.contains("<testsuite name=\"curl\"") && xml.contains("<testsuite name=\"wget\""));
    insta::assert_snapshot!("junit_xml", xml);
}

#[test]
fn json_golden_and_round_trip() {
    let run = common::fixture();
    let text = run.to_json();
    insta::assert_snapshot!("results_json", text);
    assert_eq!(RunResults::from_json(&text).unwrap(), run);
    let e = RunResults::from_json(&text.replace("\"schema\": 1", "\"schema\": 2"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("schema 2; this ftpspec reads schema 1"), "{e}");
    assert!(RunResults::from_json("{}")
        .unwrap_err()
        .to_string()
        .contains("not an ftpspec results.json"));
}

#[test]
fn output_is_deterministic() {
    let a = common::fixture();
    let mut b = a.clone();
    b.results.reverse();
    b.clients.reverse();
    b.sort();
    assert_eq!(html::html(&a, None), html::html(&b, None));
    assert_eq!(junit::junit(&a), junit::junit(&b));
    assert_eq!(a.to_json(), b.to_json());
}

#[test]
fn diffs() {
    let new = common::fixture();
    let mut old = new.clone();
    old.results[0].verdict = Verdict::Fail; // curl epsv-blocked: informational now, was fail
    old.results
        .retain(|r| r.scenario != "upload/passive-upload" || r.client != "wget");
    let mut gone = old.results[0].clone();
    gone.scenario = "passive/gone".into();
    old.results.push(gone);
    let d = diff(&old, &new);
    assert!(!d.has_regressions());
    assert_eq!(d.improvements.len(), 1);
    assert_eq!(d.added.len(), 1);
    assert_eq!(d.removed.len(), 1);
    let text = d.text();
    assert!(
        text.contains("1 improvements:\n  curl passive/epsv-blocked: fail -> informational"),
        "{text}"
    );
    old.results[2].verdict = Verdict::Pass; // wget unroutable: now worse
    let d = diff(&old, &new);
    assert!(d.has_regressions());
    assert!(
        d.text()
            .starts_with("1 regressions:\n  wget passive/unroutable-address: pass -> fail"),
        "{}",
        d.text()
    );
}

#[test]
fn hostile_text_is_escaped_made_visible_and_cut() {
    let mut run = common::fixture();
    let r = &mut run.results[1];
    r.reason = "<script>alert('reason')</script>".into();
    r.client = "<b>evil</b>".into();
    r.title = "\"quoted\" & <i>".into();
    r.observations.stdout = format!("\x1b[31mred\x1b[0m\0{}", "A".repeat(1 << 20));
    r.observations.stderr = "<img src=x onerror=alert(1)>".into();
    r.observations.dialogue = "S: 220 <script>x</script>\nC: USER \u{7}bell\n".into();
    r.observations.command = vec!["sh".into(), "-c".into(), "echo '</pre><script>'".into()];
    run.sort();
    let packed = html::html(&run, None);
    assert!(
        packed.len() < 400 * 1024,
        "1 MiB of output is cut: {} bytes",
        packed.len()
    );
    // What the page shows once a case is opened: its details unpacked.
    let page = common::unpacked(&packed);
    for bad in [
        "<script>alert",
        "<img src=x",
        "<b>evil</b>",
        "<i>",
        "</pre><script>",
        "\x1b",
        "\0",
        "\u{7}",
    ] {
        assert!(!page.contains(bad), "{bad:?} reached the page unescaped");
        assert!(!packed.contains(bad), "{bad:?} reached the page unescaped");
    }
    assert!(page.contains("&lt;script&gt;alert('reason')&lt;/script&gt;"));
    assert!(
        page.contains("\u{241b}[31mred"),
        "escape characters are shown, not sent"
    );
    assert!(
        page.len() < 400 * 1024,
        "1 MiB of output is cut, unpacked too: {} bytes",
        page.len()
    );
    assert!(page.contains("more bytes not shown"));
    let xml = junit::junit(&run);
    assert!(!xml.contains("<script>") && !xml.contains("\x1b") && !xml.contains('\0'));
}

#[test]
fn flaky_and_quarantined_cases_in_junit() {
    let xml = junit::junit(&common::flaky_fixture());
    // Mostly passing: a success with a flakyFailure for its failed run (Surefire).
    let curl = xml
        .split("<testcase name=\"passive/unroutable-address\" classname=\"curl.passive\"")
        .nth(1)
        .unwrap();
    let curl = &curl[..curl.find("</testcase>").unwrap()];
    assert!(
        curl.contains("message=\"run 2: fail at try 2\"")
            && curl.contains("<flakyFailure")
            && !curl.contains("<failure"),
        "{curl}"
    );
    assert!(curl.contains("flaky: 2 pass, 1 fail"), "{curl}");
    // Mostly failing but quarantined: skipped, saying why.
    assert!(
        xml.contains("<skipped message=\"quarantined: wget trusts the 227 address: upstream bug 123; fail: fail at try 1\""),
        "{xml}"
    );
    // A steady error: the error, and the other runs as rerunErrors.
    assert_eq!(xml.matches("<rerunError").count(), 2, "{xml}");
    insta::assert_snapshot!("junit_xml_flaky", xml);
}

#[test]
fn a_mostly_failing_flaky_case_is_a_failure_with_reruns() {
    let mut run = common::flaky_fixture();
    for r in &mut run.results {
        r.quarantined = None;
    }
    let xml = junit::junit(&run);
    let wget = xml
        .split("<testcase name=\"passive/unroutable-address\" classname=\"wget.passive\"")
        .nth(1)
        .unwrap();
    let wget = &wget[..wget.find("</testcase>").unwrap()];
    assert!(
        wget.contains("<failure message=\"fail at try 1\"")
            && wget.contains("message=\"run 3: fail at try 3\"")
            && wget.matches("<rerunFailure").count() == 1,
        "{wget}"
    );
}

#[test]
fn flaky_and_quarantined_cases_in_html() {
    let run = common::flaky_fixture();
    let page = common::unpacked(&html::html(&run, None));
    assert!(
        page.contains("flaky<span class=\"flaky-word\">2 pass, 1 fail</span>"),
        "the cell says flaky and the runs"
    );
    assert!(page.contains("each case run 3 times: <strong>2 flaky</strong>"));
    assert!(page.contains("shuffled with --seed 42"));
    let q = page
        .find("id=\"quarantined\"")
        .expect("a quarantine section");
    assert!(page[q..].contains("wget trusts the 227 address: upstream bug 123"));
    assert!(page.contains("<h4>Runs: 2 pass, 1 fail, flaky</h4>"));
    insta::assert_snapshot!("index_html_flaky", lines(&page));
    // The runs survive results.json.
    assert_eq!(RunResults::from_json(&run.to_json()).unwrap(), run);
}

#[test]
fn diffs_of_flaky_and_quarantined_cases() {
    let steady = common::fixture();
    let flaky = common::flaky_fixture();
    // curl passed, now fails one run in three: a regression; wget's, quarantined, does not
    // count; wget failed and still fails, now flakily: changed.
    let d = diff(&steady, &flaky);
    assert_eq!(d.regressions.len(), 1, "{}", d.text());
    assert!(d.has_regressions());
    assert!(
        d.text().starts_with(
            "1 regressions:\n  curl passive/unroutable-address: pass -> flaky fail  (fail at try 2)\n"
        ),
        "{}",
        d.text()
    );
    assert!(
        d.text().contains("wget passive/unroutable-address: fail -> flaky fail  (fail at try 1) [quarantined: wget trusts"),
        "{}",
        d.text()
    );
    // A quarantined regression alone does not count.
    let mut old = flaky.clone();
    for r in &mut old.results {
        r.verdict = Verdict::Pass;
        r.flaky = false;
    }
    let mut new = flaky.clone();
    new.results.retain(|r| r.quarantined.is_some());
    old.results.retain(|r| r.quarantined.is_some());
    let d = diff(&old, &new);
    assert_eq!(d.regressions.len(), 1);
    assert!(!d.has_regressions(), "{}", d.text());
}

/// The coverage section of a page, one element a line.
fn coverage_section(page: &str) -> String {
    let start = page
        .find("<section id=\"coverage\"")
        .expect("a coverage section");
    let end = start + page[start..].find("</section>").unwrap() + "</section>".len();
    lines(&page[start..end])
}

#[test]
fn coverage_golden() {
    let page = html::html(&common::fixture(), None);
    assert!(
        page.contains("<a href=\"#coverage\">Coverage</a>"),
        "reached from the top"
    );
    insta::assert_snapshot!("coverage_html", coverage_section(&page));
}

#[test]
fn coverage_of_mixed_references_golden() {
    let mut run = common::fixture();
    for r in &mut run.results {
        r.references = match r.scenario.as_str() {
            "passive/unroutable-address" => vec![
                "RFC 959 §4.1.2 (PASV)".into(),
                "RFC 1123 §4.1.2.6".into(),
                "curl CVE-2020-8284".into(),
                "lftp ftp:fix-pasv-address".into(),
            ],
            "passive/epsv-blocked" => vec![
                "RFC 2428 §3".into(),
                "RFC 959 §4.1.2".into(),
                "curl/curl#4654".into(),
                "curl/curl PR #12841".into(),
                "suppaftp#55".into(),
            ],
            _ => vec![
                "RFC 959 §4.1.3 (STOR)".into(),
                "RFC 959 Appendix II".into(),
                "<b>not markup</b>".into(),
            ],
        };
    }
    let page = html::html(&run, None);
    let section = coverage_section(&page);
    // One section, two spellings: both cases of both scenarios counted once each.
    assert!(section.contains("#section-4.1.2\">§4.1.2</a>"), "{section}");
    assert!(section.contains("https://github.com/curl/curl/pull/12841"));
    assert!(!section.contains("<b>not markup"), "references are escaped");
    // The scenarios link to their rows in the matrix.
    assert!(page.contains("<tr class=\"row\" id=\"row-passive-unroutable-address\""));
    assert!(section.contains("<a href=\"#row-passive-unroutable-address\""));
    // results.json is unchanged: the coverage is computed, not stored.
    assert!(!run.to_json().contains("coverage"));
    insta::assert_snapshot!("coverage_html_mixed", section);
}

/// The fixed run with bundles kept for wget's failing case and for a failing case whose id
/// has an axis (`@`, `=`, `,`).
fn with_bundles() -> RunResults {
    let axis = "passive/unroutable-address@tls=explicit,ip=6";
    let mut run = common::fixture_with_bundle(
        axis,
        &format!("== nat: nft list ruleset ==\nbundle of {axis}\n"),
    );
    let plain = "passive/unroutable-address";
    let r = run
        .results
        .iter_mut()
        .find(|r| r.client == "wget" && r.scenario == plain)
        .unwrap();
    r.keep_diagnostics(format!("== nat: nft list ruleset ==\nbundle of {plain}\n"));
    run
}

#[test]
fn diagnostics_bundles_are_written_beside_the_report_and_linked() {
    let run = with_bundles();
    let dir = tempfile::tempdir().unwrap();
    run.write(dir.path(), None).unwrap();
    let plain = "cases/wget/passive_2funroutable-address/diagnostics.txt";
    let axis = "cases/wget/passive_2funroutable-address@tls=explicit,ip=6/diagnostics.txt";
    for (rel, scenario) in [
        (plain, "passive/unroutable-address"),
        (axis, "passive/unroutable-address@tls=explicit,ip=6"),
    ] {
        let text = std::fs::read_to_string(dir.path().join(rel)).unwrap();
        assert_eq!(
            text,
            format!("== nat: nft list ruleset ==\nbundle of {scenario}\n")
        );
        assert_eq!(
            run.get("wget", scenario).unwrap().diagnostics.as_deref(),
            Some(rel)
        );
    }
    // results.json: the relative path, not the text; read back, the path stays.
    let json = std::fs::read_to_string(dir.path().join("results.json")).unwrap();
    assert!(
        json.contains(&format!("\"diagnostics\": \"{plain}\"")),
        "{json}"
    );
    assert!(!json.contains("bundle of"));
    let back = RunResults::read(&dir.path().join("results.json")).unwrap();
    let r = back.get("wget", "passive/unroutable-address").unwrap();
    assert_eq!(
        (r.diagnostics.as_deref(), &r.diagnostics_text),
        (Some(plain), &None)
    );
    assert_eq!(
        back.get("curl", "passive/unroutable-address")
            .unwrap()
            .diagnostics,
        None,
        "none for a case without a bundle"
    );
    // index.html: a link in each case view that has one, and only there.
    let page = common::unpacked(&std::fs::read_to_string(dir.path().join("index.html")).unwrap());
    assert_eq!(page.matches("class=\"diagnostics\" href=").count(), 2);
    for rel in [plain, axis] {
        assert!(
            page.contains(&format!("<a class=\"diagnostics\" href=\"{rel}\">")),
            "{rel}"
        );
    }
    // Written again (read back, without the texts): the files stay as they were.
    back.write(dir.path(), None).unwrap();
    assert!(std::fs::read_to_string(dir.path().join(axis))
        .unwrap()
        .contains("bundle of passive/unroutable-address@tls=explicit,ip=6"));
}

#[test]
fn bundles_are_read_back_for_a_merge_and_a_missing_one_loses_its_link() {
    let run = with_bundles();
    let dir = tempfile::tempdir().unwrap();
    run.write(dir.path(), None).unwrap();
    let axis = "passive/unroutable-address@tls=explicit,ip=6";
    let gone = run.get("wget", axis).unwrap().diagnostics.clone().unwrap();
    std::fs::remove_file(dir.path().join(gone)).unwrap();
    let mut back = RunResults::read(&dir.path().join("results.json")).unwrap();
    let warnings = back.read_bundles(dir.path());
    let plain = back.get("wget", "passive/unroutable-address").unwrap();
    assert_eq!(
        plain.diagnostics_text.as_deref(),
        Some("== nat: nft list ruleset ==\nbundle of passive/unroutable-address\n")
    );
    assert_eq!(back.get("wget", axis).unwrap().diagnostics, None);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!("wget {axis}: its diagnostics bundle")),
        "{warnings:?}"
    );
    // Written again elsewhere (as `ftpspec merge` does), the bundle that was read goes along.
    let out = tempfile::tempdir().unwrap();
    back.write(out.path(), None).unwrap();
    let rel = "cases/wget/passive_2funroutable-address/diagnostics.txt";
    assert!(out.path().join(rel).is_file());
}

#[test]
fn captures_are_linked_in_json_and_html_and_copied_by_a_merge() {
    let mut run = with_bundles();
    let src = tempfile::tempdir().unwrap();
    let scenario = "passive/unroutable-address";
    let rel = ftpspec_report::paths::capture_path("wget", scenario, 1);
    let r = run
        .results
        .iter_mut()
        .find(|r| r.client == "wget" && r.scenario == scenario)
        .unwrap();
    r.capture = Some(rel.clone());
    // As `ftpspec run` does: the capture is written as the case ends, then the run.
    std::fs::create_dir_all(src.path().join(&rel).parent().unwrap()).unwrap();
    std::fs::write(src.path().join(&rel), b"pcapng bytes").unwrap();
    run.write(src.path(), None).unwrap();
    let json = std::fs::read_to_string(src.path().join("results.json")).unwrap();
    assert!(json.contains(&format!("\"capture\": \"{rel}\"")), "{json}");
    let html = common::unpacked(&std::fs::read_to_string(src.path().join("index.html")).unwrap());
    assert!(
        html.contains(&format!("href=\"{rel}\"")),
        "the case view links it"
    );
    // Read back and written elsewhere (`ftpspec merge`): the file goes along.
    let mut back = RunResults::read(&src.path().join("results.json")).unwrap();
    assert!(back.read_bundles(src.path()).is_empty());
    let out = tempfile::tempdir().unwrap();
    back.write(out.path(), None).unwrap();
    assert_eq!(
        std::fs::read(out.path().join(&rel)).unwrap(),
        b"pcapng bytes"
    );
    // Written again in place: untouched.
    back.write(src.path(), None).unwrap();
    assert_eq!(
        std::fs::read(src.path().join(&rel)).unwrap(),
        b"pcapng bytes"
    );
    // Gone from the disk: the link goes, with a warning.
    std::fs::remove_file(src.path().join(&rel)).unwrap();
    let mut back = RunResults::read(&src.path().join("results.json")).unwrap();
    let warnings = back.read_bundles(src.path());
    assert_eq!(back.get("wget", scenario).unwrap().capture, None);
    assert!(
        warnings.iter().any(|w| w.contains("its capture")),
        "{warnings:?}"
    );
}
